/* govchat chat page: the cards inside an assistant turn (answer text with citations, flow question,
 * personal checklist, handoff result with QR code, 好差评). Pure DOM builders; chat.js wires them. */
(function (root) {
  'use strict';
  const { h } = root.GC;

  const LEVELS = [
    [5, '非常满意'], [4, '满意'], [3, '基本满意'], [2, '不满意'], [1, '非常不满意'],
  ];
  const MARK_CLASS = { 必要: 'mark-required', 容缺: 'mark-tolerated', 可免提交: 'mark-exempt', 非必要: 'mark-optional', 视情况: 'mark-optional' };
  let uid = 0;

  /** Answer text with each [n] that names a citation turned into a button opening the source. */
  function answerText(text, citations, onCite) {
    const byN = new Map((citations || []).map((c) => [Number(c.n), c]));
    const box = h('div', { class: 'answer-text' });
    const re = /\[(\d{1,2})\]/g;
    let last = 0;
    let m;
    const src = String(text || '');
    while ((m = re.exec(src))) {
      const c = byN.get(Number(m[1]));
      if (!c) continue;
      if (m.index > last) box.appendChild(document.createTextNode(src.slice(last, m.index)));
      box.appendChild(citeButton(c, onCite, `[${c.n}]`));
      last = m.index + m[0].length;
    }
    if (last < src.length) box.appendChild(document.createTextNode(src.slice(last)));
    return box;
  }

  function citeButton(c, onCite, label) {
    return h('button', {
      type: 'button',
      class: 'cite',
      text: label,
      attrs: { 'aria-label': `查看来源${c.n}：${c.title}${c.section ? ' · ' + c.section : ''}`, 'aria-haspopup': 'dialog' },
      dataset: { n: String(c.n), docId: c.doc_id, chunkId: c.chunk_id || '' },
      on: { click: () => onCite(c) },
    });
  }

  function sourcesList(citations, onCite) {
    if (!citations || !citations.length) return null;
    return h('div', { class: 'sources' },
      h('span', { class: 'sources-label', text: '来源' }),
      h('ul', null, citations.map((c) => h('li', null,
        citeButton(c, onCite, `[${c.n}] ${c.title}${c.section ? ' · ' + c.section : ''}`)))));
  }

  /** Quick replies for a flow question; yes/no questions get 是/否 since they carry no choices. */
  function flowChoices(flow, onChoice) {
    let choices = Array.isArray(flow.choices) ? flow.choices.slice() : [];
    if (!choices.length && /吗[？?]|是否/.test(flow.prompt || '')) choices = ['是', '否'];
    const progress = Array.isArray(flow.progress) && flow.progress[1]
      ? h('p', { class: 'progress-note', text: `第 ${Math.min(flow.progress[0] + 1, flow.progress[1])} / ${flow.progress[1]} 项` })
      : null;
    if (!choices.length) return progress ? h('div', { class: 'flow-card' }, progress) : null;
    return h('div', { class: 'flow-card' }, progress,
      h('div', { class: 'choices', attrs: { role: 'group', 'aria-label': '快捷回答' } },
        choices.map((label) => h('button', {
          type: 'button', class: 'btn choice', text: label, on: { click: () => onChoice(label) },
        }))));
  }

  function section(title, text) {
    if (!text) return null;
    return h('section', { class: 'cl-section' }, h('h4', { text: title }), h('div', { class: 'pre', text }));
  }

  /** One material: its name, then the guide's wording for it (name prefix dropped, never reworded). */
  function material(m) {
    const text = String(m.text || '');
    const detail = text.startsWith(m.name) ? text.slice(m.name.length) : text;
    const exemption = m.exemption && !text.includes(m.exemption) ? m.exemption : '';
    return h('li', { class: 'material' },
      h('span', { class: `mark ${MARK_CLASS[m.mark] || ''}`, text: m.mark }),
      h('div', { class: 'material-body' },
        h('strong', { class: 'material-name', text: m.name }),
        detail.trim() ? h('p', { class: 'material-text', text: detail }) : null,
        exemption ? h('p', { class: 'material-exempt', text: exemption }) : null));
  }

  /** The personal materials checklist; every fact string is shown verbatim from the guide. */
  function checklistCard(checklist, options, onHandoff) {
    const cl = checklist || {};
    const materials = Array.isArray(cl.materials) ? cl.materials : [];
    const card = h('article', { class: 'checklist-card', attrs: { 'aria-label': `${cl.workflow_name || ''}个人办事清单` } },
      h('header', { class: 'cl-head' },
        h('h3', { text: `${cl.workflow_name || '办事'} · 个人办事清单` }),
        cl.item_code ? h('p', { class: 'muted', text: `事项编码：${cl.item_code}` }) : null),
      cl.situation && cl.situation.length
        ? h('dl', { class: 'situation' }, cl.situation.map(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })]))
        : null,
      cl.bundled ? h('h4', { text: '本次一并办理的事项' }) : null,
      cl.bundled ? h('p', { class: 'bundled', text: cl.bundled }) : null,
      h('h4', { text: `需要准备的材料（${materials.length} 项）` }),
      h('ol', { class: 'materials' }, materials.map(material)),
      cl.not_needed && cl.not_needed.length
        ? h('p', { class: 'not-needed', text: `按您的情况无需提交：${cl.not_needed.join('、')}` }) : null,
      cl.materials_note ? h('p', { class: 'note', text: cl.materials_note }) : null,
      h('div', { class: 'cl-facts' },
        section('办理时限', cl.time_limit),
        section('到现场次数', cl.visits),
        section('收费标准', cl.fees),
        section('办理渠道', cl.channels)),
      cl.steps || cl.conditions || cl.departments
        ? h('details', { class: 'cl-more' }, h('summary', { text: '办理条件、流程和责任部门' }),
          section('办理条件', cl.conditions), section('办理流程', cl.steps), section('责任部门', cl.departments))
        : null,
      cl.notice ? h('p', { class: 'note', text: cl.notice }) : null);
    if (options && options.length) {
      card.appendChild(h('div', { class: 'handoff-options' },
        h('h4', { text: '接下来您希望怎么办理？' }),
        h('div', { class: 'choices', attrs: { role: 'group', 'aria-label': '选择办理方式' } },
          options.map((o) => h('button', {
            type: 'button', class: 'btn handoff-option', text: o.label, dataset: { kind: o.kind },
            on: { click: () => onHandoff(o.kind, o.label) },
          })))));
    }
    return card;
  }

  /** Handoff result: case number and verification code up front, link, QR code when there is one. */
  function handoffCard(handoff) {
    const ho = handoff || {};
    const card = h('article', { class: 'handoff-card', attrs: { 'aria-label': ho.label || '办理方式' } },
      h('h3', null, ho.label || '已为您转办', ho.sandbox ? h('span', { class: 'badge', text: '演示环境' }) : null));
    if (ho.case_no) {
      card.appendChild(h('dl', { class: 'case-ids' },
        h('div', null, h('dt', { text: '办件编号' }), h('dd', { class: 'case-no', text: ho.case_no })),
        ho.verify_code
          ? h('div', null, h('dt', { text: '查询验证码' }), h('dd', { class: 'verify-code', text: ho.verify_code }))
          : null));
      card.appendChild(h('p', { class: 'muted', text: '请记下办件编号和验证码，可随时点击右上角“查办件”查询进度。' }));
    }
    if (ho.url) {
      card.appendChild(h('a', {
        class: 'btn primary link-btn', href: ho.url, target: '_blank', rel: 'noopener noreferrer', text: '打开办理链接',
      }));
    }
    if (ho.qr_text && root.GovQR) {
      try {
        const svg = root.GovQR.toSvg(ho.qr_text);
        svg.setAttribute('aria-label', '办理链接二维码，可用鄂汇办扫码打开');
        card.appendChild(h('figure', { class: 'qr-figure', dataset: { qrText: ho.qr_text } }, svg,
          h('figcaption', { text: '用鄂汇办APP或微信扫码继续办理' })));
      } catch (_e) {
        /* too long for a QR code: the link above still works */
      }
    }
    if (ho.miniprogram_path) {
      card.appendChild(h('details', { class: 'mp-path small' }, h('summary', { text: '在鄂汇办小程序中打开' }),
        h('p', { class: 'muted', text: `小程序路径：${ho.miniprogram_path}` })));
    }
    if (ho.expires_at) card.appendChild(h('p', { class: 'muted small', text: `链接有效期至 ${root.GC.fmtTime(ho.expires_at)}` }));
    return card;
  }

  /** 好差评: five levels plus an optional comment; low ratings tell the citizen staff will follow up. */
  function feedbackWidget(turnId, onRate) {
    uid += 1;
    const name = `rate-${uid}`;
    const result = h('p', { class: 'rate-result', attrs: { role: 'status' } });
    const commentId = `${name}-comment`;
    const comment = h('textarea', { id: commentId, class: 'rate-comment', rows: 2, maxLength: 300,
      placeholder: '意见建议（选填）' });
    const submit = h('button', { type: 'submit', class: 'btn primary small', text: '提交评价' });
    const form = h('form', { class: 'rate-form' },
      h('fieldset', null,
        h('legend', { text: '您对本次服务满意吗？' }),
        h('div', { class: 'levels' }, LEVELS.map(([stars, label]) => h('label', { class: 'level' },
          h('input', { type: 'radio', name, value: String(stars), attrs: { 'aria-label': `${label}（${stars}星）` } }),
          h('span', { class: 'stars', text: '★'.repeat(stars), attrs: { 'aria-hidden': 'true' } }),
          h('span', { class: 'level-label', text: label }))))),
      h('label', { htmlFor: commentId, class: 'sr-only', text: '意见建议（选填）' }),
      comment, submit);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const picked = form.querySelector('input[type=radio]:checked');
      if (!picked) {
        result.textContent = '请先选择满意程度。';
        return;
      }
      submit.disabled = true;
      try {
        const res = await onRate(turnId, Number(picked.value), comment.value.trim());
        form.replaceWith(h('p', { class: 'rate-done', text: `已评价：${res.level}。感谢您的反馈！` }));
        // A call-back is promised only when the citizen left a contact with consent; otherwise the
        // staff answer in this conversation.
        result.textContent = !res.needs_followup ? ''
          : res.callback
            ? '很抱歉没能让您满意。我们已记录您的意见，工作人员会按您授权留下的联系方式回访。'
            : '很抱歉没能让您满意。我们已记录您的意见，工作人员会在本对话中回复您；如需电话回访，可点“转人工”并授权留下联系方式。';
        if (res.needs_followup) result.classList.add('followup');
      } catch (e) {
        submit.disabled = false;
        result.textContent = e.message || '评价提交失败，请稍后重试。';
      }
    });
    return h('details', { class: 'rate' }, h('summary', { text: '评价本次服务（好差评）' }), form, result);
  }

  root.ChatCards = { answerText, sourcesList, flowChoices, checklistCard, handoffCard, feedbackWidget, LEVELS };
})(window);
