/* govchat citizen chat: streaming turns over SSE (fetch + ReadableStream, since EventSource cannot
 * POST), citations opening their source passage, guided 一件事 flows, handoffs, 好差评, live
 * caseworker replies, case status lookup and the 适老化 mode. */
(function (root) {
  'use strict';
  const { api, readSSE, h, clear, fmtTime, ApiError } = root.GC;
  const Cards = root.ChatCards;

  const SESSION_KEY = 'govchat.session';
  const ELDER_KEY = 'govchat.elder';
  const $ = (id) => document.getElementById(id);
  const log = $('log');
  const input = $('input');
  const sendBtn = $('send');
  const sourceCache = new Map();
  const seenReplies = new Set();
  let busy = false;
  let events = null;
  let pendingHandoff = null;
  let inflight = null; // AbortController of the streaming turn: leaving it cancels the turn server-side

  const store = {
    get session() {
      try { return localStorage.getItem(SESSION_KEY) || null; } catch (_e) { return null; }
    },
    set session(value) {
      try {
        if (value) localStorage.setItem(SESSION_KEY, value);
        else localStorage.removeItem(SESSION_KEY);
      } catch (_e) { /* private mode: the session lives for this page only */ }
    },
  };

  // --- message log ------------------------------------------------------------------------------
  function scrollToEnd() {
    log.scrollTop = log.scrollHeight;
  }

  function addMessage(role, ...content) {
    const who = { user: '我', assistant: '政务助手', caseworker: '工作人员', system: '系统' }[role] || role;
    const msg = h('div', { class: `msg ${role}` },
      h('div', { class: 'who', text: who }),
      h('div', { class: 'bubble' }, ...content));
    log.appendChild(msg);
    scrollToEnd();
    return msg;
  }

  function disableOldChoices() {
    log.querySelectorAll('.choices .btn:not([disabled])').forEach((b) => { b.disabled = true; });
  }

  function welcome() {
    const items = h('div', { class: 'chips', attrs: { role: 'group', 'aria-label': '高效办成一件事快捷入口' } },
      h('span', { class: 'muted small', text: '正在加载…' }));
    addMessage('assistant',
      h('p', { text: '您好！我是鄂汇办政务服务智能助手。我可以解答办事问题（附政策和办事指南出处），引导您办理“高效办成一件事”并生成个人材料清单，也可以帮您转人工或登记12345工单。' }),
      h('h2', { class: 'quick-title', text: '高效办成一件事' }),
      items);
    loadItems(items);
  }

  async function loadItems(box) {
    try {
      const list = await api('/api/items');
      clear(box);
      for (const item of list || []) {
        const short = String(item.name).replace(/[“”"]?一件事[“”"]?/g, '').replace(/[“”"]/g, '');
        box.appendChild(h('button', {
          type: 'button',
          class: 'chip',
          text: short || item.name,
          title: item.audience ? `面向${item.audience}` : '',
          attrs: { 'aria-label': `开始办理${item.name}` },
          dataset: { itemId: item.id },
          on: { click: () => send(`我要办${item.name}`) },
        }));
      }
    } catch (_e) {
      clear(box).appendChild(h('span', { class: 'muted small', text: '快捷入口暂时无法加载，您可以直接输入想办的事。' }));
    }
  }

  // --- one turn ---------------------------------------------------------------------------------
  async function send(text) {
    const message = String(text || '').trim();
    if (!message || busy) return;
    busy = true;
    sendBtn.disabled = true;
    disableOldChoices();
    const mine = addMessage('user', h('p', { class: 'user-text', text: message }));
    const live = h('div', { class: 'answer-text streaming', text: '' });
    const typing = h('span', { class: 'typing' }, h('i'), h('i'), h('i'), h('span', { class: 'sr-only', text: '正在回复…' }));
    const msg = addMessage('assistant', typing, live);
    log.setAttribute('aria-busy', 'true');
    let streamed = '';
    let result = null;
    let failure = null;
    const ctrl = new AbortController();
    inflight = ctrl;
    try {
      const res = await api('/api/chat/stream', {
        json: { session: store.session, message }, raw: true, signal: ctrl.signal,
      });
      await readSSE(res, (name, data) => {
        if (name === 'session' && data && data.session) adoptSession(data.session);
        else if (name === 'token' && data && typeof data.text === 'string') {
          typing.remove();
          streamed += data.text;
          live.textContent = streamed;
          scrollToEnd();
        } else if (name === 'done' && data && data.result) result = data.result;
        else if (name === 'error') failure = (data && data.message) || '处理失败，请稍后重试。';
      });
    } catch (e) {
      failure = e instanceof ApiError ? e.message : '网络连接中断，请稍后重试。';
    }
    if (inflight === ctrl) inflight = null;
    if (ctrl.signal.aborted) return; // a new conversation was started: this turn is gone
    typing.remove();
    if (result) {
      showSaid(mine, result);
      renderTurn(msg, result);
    } else if (failure || !streamed) {
      live.textContent = streamed;
      msg.querySelector('.bubble').appendChild(h('p', { class: 'error', text: failure || '没有收到回复，请稍后重试。' }));
    }
    log.removeAttribute('aria-busy');
    busy = false;
    sendBtn.disabled = false;
  }

  function adoptSession(token) {
    if (token && token !== store.session) {
      store.session = token;
      connectEvents();
    } else if (token && !events) {
      connectEvents();
    }
  }

  /** Replaces the streamed text with the authoritative result and adds its cards. */
  // The citizen's own bubble shows what the server kept (personal data masked), with a gentle hint.
  function showSaid(mine, result) {
    const p = mine && mine.querySelector('.user-text');
    if (p && result.said) p.textContent = result.said;
    if (p && result.personal_data && !mine.querySelector('.pii-hint')) {
      p.after(h('p', { class: 'pii-hint small', text: '为保护您的个人信息，已自动隐藏；请勿在对话中提供身份证号、银行卡号等。' }));
    }
  }

  function renderTurn(msg, result) {
    if (result.session) adoptSession(result.session);
    const bubble = clear(msg.querySelector('.bubble'));
    msg.dataset.turnId = result.turn_id || '';
    const flow = result.flow;
    const answer = String(result.answer || '');
    if (flow && flow.kind === 'checklist' && flow.checklist) {
      const lead = answer.split('\n')[0];
      bubble.appendChild(Cards.answerText(lead, result.citations, openSource));
      bubble.appendChild(Cards.checklistCard(flow.checklist, flow.handoff_options, chooseHandoff));
      bubble.appendChild(h('details', { class: 'plain-text' }, h('summary', { text: '查看文字版清单' }),
        h('div', { class: 'pre', text: answer })));
    } else {
      bubble.appendChild(Cards.answerText(answer, result.citations, openSource));
      if (flow && (flow.kind === 'question' || flow.kind === 'reask' || flow.kind === 'digression')) {
        const choices = Cards.flowChoices(flow, (label) => send(label));
        if (choices) bubble.appendChild(choices);
      }
    }
    const sources = Cards.sourcesList(result.citations, openSource);
    if (sources) bubble.appendChild(sources);
    if (result.handoff) bubble.appendChild(Cards.handoffCard(result.handoff));
    if (result.turn_id) bubble.appendChild(Cards.feedbackWidget(result.turn_id, rate));
    scrollToEnd();
  }

  // --- handoff ----------------------------------------------------------------------------------
  // Both people-facing paths collect what they need first: a caseworker case asks for (optional,
  // consented) contact; a 12345 ticket also asks what the problem is.
  function chooseHandoff(kind, label) {
    if (busy) return;
    if (kind === 'caseworker' || kind === 'ticket_12345') {
      pendingHandoff = { kind, label };
      const ticket = kind === 'ticket_12345';
      $('cw-title').textContent = ticket ? '登记12345工单' : '预约窗口工作人员帮办';
      $('cw-describe-block').hidden = !ticket;
      $('cw-submit').textContent = ticket ? '确认登记12345工单' : '确认转人工帮办';
      $('cw-error').textContent = '';
      openDialog($('caseworker-dialog'));
      return;
    }
    doHandoff(kind, label, null, false, '');
  }

  async function doHandoff(kind, label, contact, consent, content) {
    busy = true;
    disableOldChoices();
    addMessage('user', h('p', { class: 'user-text', text: `选择：${label}` }));
    const msg = addMessage('assistant', h('span', { class: 'typing' }, h('i'), h('i'), h('i')));
    try {
      const result = await api('/api/handoff', { json: { session: store.session, kind, consent, contact, content } });
      renderTurn(msg, result);
    } catch (e) {
      clear(msg.querySelector('.bubble')).appendChild(h('p', { class: 'error', text: e.message }));
    } finally {
      busy = false;
    }
  }

  $('caseworker-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const name = $('cw-name').value.trim();
    const phone = $('cw-phone').value.trim();
    const consent = $('cw-consent').checked;
    if ((name || phone) && !consent) {
      $('cw-error').textContent = '如需提供联系方式，请先勾选同意；也可以不填联系方式直接提交。';
      $('cw-consent').focus();
      return;
    }
    const contact = consent && (name || phone) ? { name, phone, id_number: '' } : null;
    const pick = pendingHandoff || { kind: 'caseworker', label: '预约窗口工作人员帮办' };
    const content = $('cw-describe').value.trim();
    if (pick.kind === 'ticket_12345' && content.length < 4) {
      $('cw-error').textContent = '请简要说明要反映的问题，便于相关部门处理。';
      $('cw-describe').focus();
      return;
    }
    $('caseworker-dialog').close();
    $('caseworker-form').reset();
    doHandoff(pick.kind, pick.label, contact, consent, pick.kind === 'ticket_12345' ? content : '');
  });

  // --- 好差评 -------------------------------------------------------------------------------------
  function rate(turnId, stars, comment) {
    return api('/api/feedback', { json: { session: store.session, turn_id: turnId, stars, comment } });
  }

  // --- sources ----------------------------------------------------------------------------------
  async function openSource(citation) {
    const dlg = $('source-dialog');
    const body = clear($('source-body'));
    $('source-title').textContent = citation.title || '来源文件';
    $('source-meta').textContent = '正在加载…';
    openDialog(dlg);
    try {
      let doc = sourceCache.get(citation.doc_id);
      if (!doc) {
        doc = await api(`/api/sources/${encodeURIComponent(citation.doc_id)}`);
        sourceCache.set(citation.doc_id, doc);
      }
      $('source-title').textContent = doc.title || citation.title;
      const status = doc.status && !['有效', 'active'].includes(doc.status) ? `（${doc.status}）` : '';
      const type = { guide: '办事指南', policy: '政策文件', article: '解读文章', notice: '通知公告', faq: '常见问题' }[doc.doc_type];
      // Human facts, never a file name: issuer and date for a policy; the citation's provenance note.
      const meta = doc.metadata || {};
      const facts = [type || doc.doc_type, meta.issuer, meta.doc_number, meta.published && `发布日期 ${meta.published}`];
      $('source-meta').textContent = facts.filter(Boolean).join(' · ') + status + (citation.note ? ` ${citation.note}` : '');
      let target = null;
      const snippet = String(citation.snippet || '').trim().slice(0, 24);
      for (const chunk of doc.chunks || []) {
        const node = h('section', { class: 'chunk', tabIndex: -1, dataset: { chunkId: chunk.chunk_id } },
          chunk.section ? h('h3', { text: chunk.section }) : null,
          h('div', { class: 'pre', text: chunk.text }));
        if (chunk.chunk_id === citation.chunk_id) target = node;
        body.appendChild(node);
      }
      if (!target && snippet) {
        target = Array.from(body.querySelectorAll('.chunk')).find((n) => n.textContent.includes(snippet)) || null;
      }
      if (target) {
        target.classList.add('highlight');
        target.setAttribute('aria-label', `引用段落${citation.n ? ' [' + citation.n + ']' : ''}`);
        target.scrollIntoView({ block: 'center' });
        target.focus({ preventScroll: true });
      }
    } catch (e) {
      $('source-meta').textContent = e.message || '来源加载失败。';
    }
  }

  // --- dialogs ----------------------------------------------------------------------------------
  function openDialog(dlg) {
    if (dlg.open) return;
    dlg.opener = document.activeElement;
    dlg.showModal();
  }

  document.querySelectorAll('dialog').forEach((dlg) => {
    dlg.addEventListener('close', () => {
      const back = dlg.opener && document.contains(dlg.opener) ? dlg.opener : input;
      back.focus();
    });
    dlg.addEventListener('click', (ev) => { if (ev.target === dlg) dlg.close(); });
    dlg.querySelectorAll('[data-close]').forEach((b) => b.addEventListener('click', () => dlg.close()));
  });

  // --- case status ------------------------------------------------------------------------------
  $('status-open').addEventListener('click', () => {
    clear($('status-result'));
    openDialog($('status-dialog'));
    $('status-case').focus();
  });

  $('status-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const out = clear($('status-result'));
    out.textContent = '正在查询…';
    try {
      const s = await api('/api/cases/status', {
        json: { case_no: $('status-case').value.trim().toUpperCase(), verify_code: $('status-code').value.trim() },
      });
      clear(out).appendChild(h('dl', { class: 'status-dl' },
        h('dt', { text: '办件编号' }), h('dd', { text: s.case_no }),
        h('dt', { text: '当前状态' }), h('dd', { class: 'status-label', text: s.status_label || s.status }),
        h('dt', { text: '更新时间' }), h('dd', { text: fmtTime(s.updated_at) }),
        s.last_reply ? [h('dt', { text: '最新答复' }), h('dd', { text: s.last_reply })] : null));
    } catch (e) {
      out.textContent = e instanceof ApiError && e.status === 404
        ? '未查询到该办件，请核对办件编号和验证码。' : e.message;
    }
  });

  // --- live caseworker replies ------------------------------------------------------------------
  function showStaffReply(text, caseNo, ts) {
    const key = `${caseNo || ''}|${text}`;
    if (seenReplies.has(key)) return;
    seenReplies.add(key);
    addMessage('caseworker',
      h('p', { class: 'staff-text', text }),
      h('p', { class: 'muted small', text: [caseNo ? `办件 ${caseNo}` : '', fmtTime(ts)].filter(Boolean).join(' · ') }));
  }

  function connectEvents() {
    if (events) events.close();
    events = null;
    const token = store.session;
    if (!token || typeof EventSource === 'undefined') return;
    events = new EventSource(`/api/events?session=${encodeURIComponent(token)}`);
    events.addEventListener('reply', (ev) => {
      try {
        const d = JSON.parse(ev.data);
        showStaffReply(d.text, d.case_no, d.ts);
      } catch (_e) { /* malformed event: ignore */ }
    });
  }

  async function restoreHistory() {
    const token = store.session;
    if (!token) return;
    try {
      const data = await api(`/api/history?session=${encodeURIComponent(token)}`);
      if (data.session && data.session !== token) {
        store.session = data.session;  // the old session expired: a fresh one was issued
        return;
      }
      for (const turn of data.turns || []) {
        const meta = turn.meta || {};
        if (turn.role === 'user') addMessage('user', h('p', { class: 'user-text', text: turn.content }));
        else if (turn.role === 'caseworker') showStaffReply(turn.content, meta.case_no, turn.ts);
        else if (turn.role === 'assistant') {
          // The turn's cards (checklist, choices, handoff, clickable citations) come back with it.
          const msg = addMessage('assistant', h('div', { class: 'answer-text' }));
          renderTurn(msg, { ...meta, answer: turn.content, session: undefined });
        }
      }
    } catch (_e) { /* history is a convenience */ }
  }

  // --- 适老化 ------------------------------------------------------------------------------------
  function applyElder(on) {
    document.documentElement.classList.toggle('elder', on);
    $('elder-toggle').setAttribute('aria-pressed', on ? 'true' : 'false');
    try { localStorage.setItem(ELDER_KEY, on ? '1' : '0'); } catch (_e) { /* not persisted */ }
  }

  $('elder-toggle').addEventListener('click', () => {
    applyElder(!document.documentElement.classList.contains('elder'));
  });

  // --- composer ---------------------------------------------------------------------------------
  $('composer').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = input.value;
    if (!text.trim() || busy) return;
    input.value = '';
    autosize();
    send(text);
  });

  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing && ev.keyCode !== 229) {
      ev.preventDefault();
      $('composer').requestSubmit();
    }
  });

  function autosize() {
    input.style.height = 'auto';
    input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
  }
  input.addEventListener('input', autosize);

  $('new-chat').addEventListener('click', () => {
    if (inflight) inflight.abort();
    inflight = null;
    busy = false;
    sendBtn.disabled = false;
    log.removeAttribute('aria-busy');
    if (events) events.close();
    events = null;
    store.session = null;
    seenReplies.clear();
    clear(log);
    welcome();
    input.focus();
  });

  // --- start ------------------------------------------------------------------------------------
  async function start() {
    applyElder(document.documentElement.classList.contains('elder'));
    welcome();
    await restoreHistory();
    connectEvents();
    const params = new URLSearchParams(root.location.search);
    if (params.get('source')) {
      openSource({ doc_id: params.get('source'), chunk_id: params.get('chunk') || '', title: '' });
    }
  }

  start();
})(window);
