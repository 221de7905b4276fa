/* govchat caseworker console: queue, case detail (summary, answers, checklist, transcript), drafted
 * replies with citations, reply / take / close, and the 差评 follow-up list. */
(function (root) {
  'use strict';
  const { api, h, clear, fmtTime, ApiError, requireStaff, logout } = root.GC;
  const $ = (id) => document.getElementById(id);

  const STATUS = { open: '待受理', taken: '办理中', replied: '已答复', closed: '已办结' };
  const KIND = { caseworker: '窗口帮办', ticket_12345: '12345工单', platform: '平台申报' };
  const ROLE = { user: '群众', assistant: '政务助手', caseworker: '工作人员', citizen: '群众', system: '系统' };
  const workflowNames = new Map();
  let current = null;
  let me = null;

  const { toast, failed } = root.GC.staffFeedback('/console');

  // --- queue ------------------------------------------------------------------------------------
  async function loadQueue() {
    const status = $('status-filter').value;
    try {
      const cases = await api(`/api/cases${status ? `?status=${encodeURIComponent(status)}` : ''}`);
      const list = clear($('queue'));
      $('queue-empty').hidden = cases.length > 0;
      for (const c of cases) {
        list.appendChild(h('li', null, h('button', {
          type: 'button',
          class: `queue-item${current && current.case_no === c.case_no ? ' active' : ''}`,
          dataset: { caseNo: c.case_no },
          attrs: { 'aria-current': current && current.case_no === c.case_no ? 'true' : 'false' },
          on: { click: () => openCase(c.case_no) },
        },
        h('span', { class: 'qi-top' },
          h('strong', { class: 'qi-no', text: c.case_no }),
          h('span', { class: `status status-${c.status}`, text: STATUS[c.status] || c.status })),
        h('span', { class: 'qi-title', text: `${workflowNames.get(c.workflow_id) || c.workflow_id || c.appeal_type || ''} · ${KIND[c.kind] || c.kind}` }),
        c.contact_masked ? h('span', { class: 'qi-summary', text: `联系人：${c.contact_masked}` }) : null,
        h('span', { class: 'qi-time muted small', text: fmtTime(c.created_at) + (c.assigned_to ? ` · ${c.assigned_to}` : '') }))));
      }
    } catch (e) {
      failed(e);
    }
  }

  // --- case detail ------------------------------------------------------------------------------
  async function openCase(caseNo) {
    try {
      const data = await api(`/api/cases/${encodeURIComponent(caseNo)}`);
      current = data.case;
      renderDetail(data);
      loadQueue();
      $('detail').focus();
    } catch (e) {
      failed(e);
    }
  }

  function block(title, ...content) {
    return h('section', { class: 'detail-block' }, h('h3', { text: title }), ...content);
  }

  function renderDetail(data) {
    const c = data.case;
    const d = clear($('detail'));
    d.appendChild(h('div', { class: 'detail-head' },
      h('h2', { id: 'detail-title' }, `办件 ${c.case_no}`,
        h('span', { class: `status status-${c.status}`, text: STATUS[c.status] || c.status })),
      h('div', { class: 'detail-actions' },
        c.status === 'open' ? h('button', { type: 'button', class: 'btn primary', id: 'take', text: '接单', on: { click: () => act('take') } }) : null,
        c.status !== 'closed' ? h('button', { type: 'button', class: 'btn', id: 'close-case', text: '办结', on: { click: () => act('close') } }) : null)));
    d.appendChild(h('dl', { class: 'meta' },
      h('dt', { text: '事项' }), h('dd', { text: workflowNames.get(c.workflow_id) || c.workflow_id || '—' }),
      h('dt', { text: '类型' }), h('dd', { text: `${KIND[c.kind] || c.kind}${c.appeal_type ? ' · ' + c.appeal_type : ''}` }),
      h('dt', { text: '联系人' }), h('dd', null, c.contact_masked || '未提供（群众未授权留下联系方式，请通过对话回复联系）',
        c.contact_masked ? contactReveal(c) : null),
      h('dt', { text: '创建时间' }), h('dd', { text: fmtTime(c.created_at) }),
      h('dt', { text: '承办人' }), h('dd', { text: c.assigned_to || '未接单' })));
    d.appendChild(block('对话摘要', h('div', { class: 'pre summary', tabIndex: 0, attrs: { 'aria-label': '对话摘要' }, text: c.summary || '（无）' })));
    const answers = Object.entries(c.answers || {});
    if (answers.length) {
      // The checklist's situation lines carry the slot labels; raw answers are the fallback.
      const situation = (c.checklist && c.checklist.situation) || null;
      d.appendChild(block('已收集的情况', h('dl', { class: 'answers' },
        (situation || answers).map(([k, v]) => [h('dt', { text: k }), h('dd', { text: formatValue(v) })]))));
    }
    if (c.checklist) d.appendChild(block('个人材料清单', checklist(c.checklist)));
    d.appendChild(block('转办前的对话', transcript(data.transcript || [])));
    // Turns after the handoff are follow-ups: shown apart, never the subject of the draft.
    if ((data.follow_ups || []).length) {
      d.appendChild(block('转办后的追问', transcript(data.follow_ups, 'follow-ups', '转办后的追问')));
    }
    if ((data.messages || []).length) {
      d.appendChild(block('往来消息', h('ol', { class: 'messages' }, data.messages.map((m) => h('li', { class: `m-${m.role}` },
        h('span', { class: 'm-who', text: `${ROLE[m.role] || m.role} · ${fmtTime(m.created_at)}` }),
        h('div', { class: 'pre', text: m.text }))))));
    }
    if (c.status !== 'closed') d.appendChild(replyBox(c));
  }

  // The contact the citizen consented to leave: shown on request, with a reason that goes to the audit
  // trail, and masked again after a minute.
  function contactReveal(c) {
    const reason = h('input', { type: 'text', id: 'reveal-reason', maxLength: 200, placeholder: '用途，例如：电话回访核实材料',
      attrs: { 'aria-label': '查看联系方式的原因' } });
    const out = h('div', { class: 'contact-revealed', id: 'contact-revealed', attrs: { 'aria-live': 'polite' } });
    const btn = h('button', { type: 'button', class: 'btn small', id: 'reveal-contact', text: '查看联系方式' });
    btn.addEventListener('click', async () => {
      if (reason.value.trim().length < 2) {
        toast('请先填写查看联系方式的原因（将记入审计日志）');
        reason.focus();
        return;
      }
      try {
        const res = await api(`/api/cases/${encodeURIComponent(c.case_no)}/contact`,
          { method: 'POST', staff: true, json: { reason: reason.value.trim() } });
        clear(out).appendChild(h('p', null, h('strong', { text: `${res.contact.name || '联系人'}：` }),
          h('span', { class: 'contact-phone', text: res.contact.phone || '（未留电话）' }),
          h('span', { class: 'muted small', text: '（1分钟后自动隐藏）' })));
        out.appendChild(h('ul', { class: 'reveal-trail muted small' }, (res.reveals || []).map((r) =>
          h('li', { text: `${fmtTime(r.at)} ${r.actor}：${r.reason}` }))));
        setTimeout(() => clear(out), 60_000);
      } catch (e) {
        failed(e);
      }
    });
    return h('div', { class: 'reveal' }, reason, btn, out);
  }

  function formatValue(v) {
    if (v === true) return '是';
    if (v === false) return '否';
    if (v === null || v === undefined || v === '') return '未提供';
    return String(v);
  }

  function checklist(cl) {
    return h('ol', { class: 'cl-materials' }, (cl.materials || []).map((m) => h('li', null,
      h('span', { class: `mark mark-${m.mark}`, text: m.mark }), ' ', h('span', { text: m.name }))));
  }

  function transcript(turns, extra = '', label = '转办前的对话') {
    if (!turns.length) return h('p', { class: 'muted', text: '（没有可用的对话记录）' });
    return h('ol', { class: `transcript ${extra}`.trim(), tabIndex: 0, attrs: { 'aria-label': label } }, turns.map((t) => h('li', { class: `t-${t.role}` },
      h('span', { class: 't-who', text: `${ROLE[t.role] || t.role}${t.ts ? ' · ' + fmtTime(t.ts) : ''}` }),
      h('div', { class: 'pre', text: t.content }))));
  }

  function replyBox(c) {
    const text = h('textarea', { id: 'reply-text', rows: 6, placeholder: '输入回复内容，或点击“起草回复”由助手起草（可编辑）' });
    const cites = h('ul', { id: 'draft-citations', class: 'draft-cites', attrs: { 'aria-label': '起草依据' } });
    const status = h('p', { class: 'muted small', attrs: { role: 'status' } });
    const draft = h('button', { type: 'button', class: 'btn', id: 'draft', text: '起草回复' });
    const sendBtn = h('button', { type: 'submit', class: 'btn primary', id: 'send-reply', text: '发送回复' });
    draft.addEventListener('click', async () => {
      draft.disabled = true;
      status.textContent = '正在起草…';
      try {
        const res = await api(`/api/cases/${encodeURIComponent(c.case_no)}/draft`, { method: 'POST', staff: true });
        text.value = res.answer || '';
        clear(cites);
        for (const ci of res.citations || []) {
          const href = `/?source=${encodeURIComponent(ci.doc_id)}&chunk=${encodeURIComponent(ci.chunk_id || '')}`;
          cites.appendChild(h('li', null, h('a', { href, target: '_blank', rel: 'noopener', text: `[${ci.n}] ${ci.title}${ci.section ? ' · ' + ci.section : ''}` })));
        }
        const about = res.question ? `针对群众的问题“${String(res.question).slice(0, 40)}”` : '';
        status.textContent = res.citations && res.citations.length
          ? `已${about}起草，请核对依据后修改发送。` : `已${about}起草（未找到可引用的依据，请人工核实）。`;
        text.focus();
      } catch (e) {
        status.textContent = e.message;
      } finally {
        draft.disabled = false;
      }
    });
    const form = h('form', { class: 'reply-form stack' },
      h('label', { htmlFor: 'reply-text', text: '回复群众（将实时显示在群众的对话中）' }),
      text, cites, h('div', { class: 'row' }, draft, sendBtn), status);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const body = text.value.trim();
      if (!body) {
        status.textContent = '回复内容不能为空。';
        text.focus();
        return;
      }
      sendBtn.disabled = true;
      try {
        await api(`/api/cases/${encodeURIComponent(c.case_no)}/reply`, { json: { text: body }, staff: true });
        toast('回复已发送');
        await openCase(c.case_no);
      } catch (e) {
        status.textContent = e.message;
        sendBtn.disabled = false;
      }
    });
    return block('回复', form);
  }

  async function act(action) {
    if (!current) return;
    try {
      await api(`/api/cases/${encodeURIComponent(current.case_no)}/${action}`, { method: 'POST', staff: true });
      toast(action === 'take' ? '已接单' : '已办结');
      await openCase(current.case_no);
    } catch (e) {
      failed(e);
    }
  }

  // --- follow-ups -------------------------------------------------------------------------------
  async function loadFollowups() {
    try {
      const items = await api('/api/followups');
      $('followup-count').textContent = String(items.length);
      const box = clear($('followups'));
      if (!items.length) {
        box.appendChild(h('p', { class: 'muted', text: '暂无需要回访的差评。' }));
        return;
      }
      box.appendChild(h('ul', { class: 'followup-list' }, items.map((f) => h('li', { class: 'followup', dataset: { id: f.id } },
        h('div', { class: 'fu-head' },
          h('span', { class: 'fu-level', text: f.level }),
          h('span', { class: 'muted small', text: fmtTime(f.created_at) })),
        h('p', null, h('strong', { text: '群众提问：' }), f.question || ''),
        h('p', { class: 'pre fu-answer' }, h('strong', { text: '助手回答：' }), String(f.answer || '').slice(0, 300)),
        f.comment ? h('p', null, h('strong', { text: '评价意见：' }), f.comment) : null,
        f.callback_case
          ? h('p', { class: 'fu-callback' }, `可电话回访：群众已在办件 ${f.callback_case} 中授权留下联系方式。`,
            h('button', { type: 'button', class: 'btn small', text: '打开办件', on: { click: () => { selectTab('cases'); openCase(f.callback_case); } } }))
          : h('p', { class: 'fu-callback muted' }, '群众未授权留下联系方式：请通过“回复到对话”联系。'),
        followupLog(f.log || []),
        followupActions(f)))));
    } catch (e) {
      failed(e);
    }
  }

  const LOG_KIND = { note: '记录', reply: '回复到对话', resolve: '办结' };

  function followupLog(log) {
    if (!log.length) return null;
    return h('ol', { class: 'fu-log small' }, log.map((e) => h('li', null,
      `${fmtTime(e.at)} ${e.by} · ${LOG_KIND[e.kind] || e.kind}${e.text ? '：' + e.text : ''}`)));
  }

  function followupActions(f) {
    const text = h('textarea', { rows: 2, class: 'fu-text', placeholder: '回复群众或记录处理情况', attrs: { 'aria-label': '回访内容' } });
    const run = async (kind) => {
      try {
        await api(`/api/followups/${encodeURIComponent(f.id)}/${kind}`,
          { method: 'POST', staff: true, json: { text: text.value.trim() } });
        toast(kind === 'resolve' ? '已办结' : kind === 'reply' ? '已回复到群众的对话' : '已记录');
        loadFollowups();
      } catch (e) {
        failed(e);
      }
    };
    return h('div', { class: 'fu-actions stack' }, text, h('div', { class: 'row' },
      h('button', { type: 'button', class: 'btn small', text: '回复到对话', on: { click: () => run('reply') } }),
      h('button', { type: 'button', class: 'btn small', text: '记录', on: { click: () => run('note') } }),
      h('button', { type: 'button', class: 'btn small primary', text: '办结', on: { click: () => run('resolve') } })));
  }

  // --- tabs -------------------------------------------------------------------------------------
  function selectTab(name) {
    for (const t of ['cases', 'followups']) {
      const on = t === name;
      $(`tab-${t}`).setAttribute('aria-selected', on ? 'true' : 'false');
      $(`tab-${t}`).tabIndex = on ? 0 : -1;
      $(`panel-${t}`).hidden = !on;
    }
    if (name === 'followups') loadFollowups();
  }

  document.querySelectorAll('[role=tab]').forEach((tab, i, all) => {
    tab.addEventListener('click', () => selectTab(tab.id.replace('tab-', '')));
    tab.addEventListener('keydown', (ev) => {
      if (ev.key !== 'ArrowRight' && ev.key !== 'ArrowLeft') return;
      const next = all[(i + (ev.key === 'ArrowRight' ? 1 : all.length - 1)) % all.length];
      next.focus();
      selectTab(next.id.replace('tab-', ''));
    });
  });

  // --- start ------------------------------------------------------------------------------------
  async function start() {
    me = await requireStaff('/console');
    if (!me) return;
    $('whoami').textContent = `${me.user || me.username || ''}（${me.role === 'admin' ? '管理员' : '帮办人员'}）`;
    $('admin-link').hidden = me.role !== 'admin';
    $('logout').addEventListener('click', logout);
    $('refresh').addEventListener('click', () => { loadQueue(); loadFollowups(); });
    $('status-filter').addEventListener('change', loadQueue);
    try {
      for (const item of await api('/api/items')) workflowNames.set(item.id, item.name);
    } catch (_e) { /* names are cosmetic */ }
    await loadQueue();
    loadFollowups();
    const wanted = new URLSearchParams(root.location.search).get('case');
    if (wanted) openCase(wanted);
    setInterval(() => { if (!document.hidden) loadQueue(); }, 15000);
  }

  start().catch(failed);
})(window);
