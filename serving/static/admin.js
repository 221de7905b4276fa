/* govchat admin console: documents (upload with job progress, retire, delete, re-index), synonyms,
 * analytics (questions per day, no-evidence rate, knowledge gaps, 好差评) and the latest eval report. */
(function (root) {
  'use strict';
  const { api, h, clear, fmtTime, ApiError, requireStaff, logout, confirmDialog } = root.GC;
  const { barChart } = root.AdminCharts;
  const $ = (id) => document.getElementById(id);

  const JOB_STATUS = { queued: '排队中', running: '处理中', done: '已完成', failed: '失败' };
  const DOC_STATUS = { 有效: '有效', 已修订: '已修订', 废止: '已废止', active: '有效', retired: '已废止' };
  const DOC_TYPE = { guide: '办事指南', policy: '政策文件', article: '解读文章', notice: '通知公告', faq: '常见问题' };
  const isRetired = (d) => d.status === '废止' || d.status === 'retired';
  const LEVELS = ['非常满意', '满意', '基本满意', '不满意', '非常不满意'];
  let docs = [];

  const { toast, failed } = root.GC.staffFeedback('/admin');

  // --- documents --------------------------------------------------------------------------------
  async function loadDocs() {
    try {
      docs = await api('/api/admin/documents');
      renderDocs();
    } catch (e) {
      failed(e);
    }
  }

  function renderDocs() {
    const q = $('doc-filter').value.trim().toLowerCase();
    const rows = docs.filter((d) => !q || `${d.title} ${d.doc_id}`.toLowerCase().includes(q));
    $('doc-count').textContent = String(docs.length);
    const body = clear($('doc-table').querySelector('tbody'));
    for (const d of rows) {
      const retired = isRetired(d);
      body.appendChild(h('tr', { dataset: { docId: d.doc_id }, class: retired ? 'retired' : '' },
        h('td', null, h('strong', { class: 'doc-title', text: d.title || d.doc_id }),
          h('span', { class: 'muted small doc-id', text: d.doc_id })),
        h('td', { text: DOC_TYPE[d.doc_type] || d.doc_type || '' }),
        h('td', { text: `v${d.version}` }),
        h('td', null, h('span', { class: `doc-status${retired ? ' retired' : ' live'}`, text: DOC_STATUS[d.status] || d.status })),
        h('td', { class: 'num', text: String(d.chunk_count ?? '') }),
        h('td', { class: 'small', text: fmtTime(d.updated_at) }),
        h('td', { class: 'actions-cell' },
          h('button', { type: 'button', class: 'btn small', text: '替换',
            attrs: { 'aria-label': `替换 ${d.title}` }, on: { click: () => pickReplacement(d) } }),
          retired ? null : h('button', { type: 'button', class: 'btn small', text: '废止',
            attrs: { 'aria-label': `废止 ${d.title}` }, on: { click: () => retire(d) } }),
          h('button', { type: 'button', class: 'btn small danger-outline', text: '删除',
            attrs: { 'aria-label': `删除 ${d.title}` }, on: { click: () => remove(d) } }))));
    }
    if (!rows.length) body.appendChild(h('tr', null, h('td', { colSpan: 7, class: 'muted', text: '没有文档。' })));
  }

  async function retire(d) {
    if (!(await confirmDialog(`废止“${d.title}”后，助手将不再引用它（仍保留记录）。确定废止吗？`, '废止'))) return;
    try {
      await api(`/api/admin/documents/${encodeURIComponent(d.doc_id)}/retire`, { method: 'POST', staff: true });
      toast('已废止');
      loadDocs();
    } catch (e) {
      failed(e);
    }
  }

  async function remove(d) {
    if (!(await confirmDialog(`确定删除“${d.title}”吗？删除后不可恢复。`, '删除'))) return;
    try {
      await api(`/api/admin/documents/${encodeURIComponent(d.doc_id)}`, { method: 'DELETE', staff: true });
      toast('已删除');
      loadDocs();
    } catch (e) {
      failed(e);
    }
  }

  // --- upload and jobs --------------------------------------------------------------------------
  function jobCard(title) {
    const bar = h('progress', { max: 1, value: 0, attrs: { 'aria-label': `${title} 入库进度` } });
    const state = h('span', { class: 'job-state', text: '上传中…' });
    const note = h('div', { class: 'job-note small' });
    const detail = h('div', { class: 'job-detail small' });
    const li = h('li', { class: 'job' }, h('div', { class: 'job-head' }, h('strong', { text: title }), state), bar, note, detail);
    $('jobs').prepend(li);
    return { li, bar, state, note, detail };
  }

  function describeReport(report) {
    if (!report || typeof report !== 'object') return report ? String(report) : '';
    const parts = [];
    const count = (k) => (Array.isArray(report[k]) ? report[k].length : report[k]);
    if (report.added !== undefined) parts.push(`新增 ${count('added')}`);
    if (report.replaced !== undefined) parts.push(`替换 ${count('replaced')}`);
    if (report.unchanged !== undefined) parts.push(`未变化 ${count('unchanged')}`);
    if (report.chunks !== undefined) parts.push(`分块 ${report.chunks}`);
    return parts.join('，');
  }

  async function pollJob(jobId, card) {
    for (;;) {
      let job;
      try {
        job = await api(`/api/admin/jobs/${encodeURIComponent(jobId)}`);
      } catch (e) {
        card.state.textContent = '查询失败';
        card.detail.textContent = e.message;
        return null;
      }
      const progress = Number(job.progress) || 0;
      card.bar.value = job.status === 'done' ? 1 : progress;
      card.state.textContent = `${JOB_STATUS[job.status] || job.status}${job.total ? `（${job.done || 0}/${job.total}）` : ''}`;
      card.li.dataset.status = job.status;
      if (job.status === 'done' || job.status === 'failed') {
        clear(card.detail);
        const summary = describeReport(job.report);
        if (summary) card.detail.appendChild(h('p', { text: summary }));
        const failures = (job.report && Array.isArray(job.report.failed)) ? job.report.failed : [];
        for (const f of failures) {
          card.detail.appendChild(h('p', { class: 'error', text: `失败：${f.path || ''} ${f.error || ''}` }));
        }
        if (job.error) card.detail.appendChild(h('p', { class: 'error', text: job.error }));
        if (job.status === 'failed' || failures.length) card.li.classList.add('has-error');
        return job;
      }
      await new Promise((r) => setTimeout(r, 600));
    }
  }

  // Replacing is an explicit choice: the admin picks the document, then a file, and confirms what
  // will be replaced (title, id, version, chunks) before anything is uploaded.
  function pickReplacement(d) {
    const input = h('input', { type: 'file', accept: $('upload-file').accept, hidden: true });
    input.addEventListener('change', async () => {
      const file = input.files && input.files[0];
      input.remove();
      if (!file) return;
      const what = `“${d.title}”（编号 ${d.doc_id}，v${d.version}，${d.chunk_count ?? 0} 个分块）`;
      if (!(await confirmDialog(`用文件“${file.name}”替换${what}？替换后旧版本不再被引用。`, '替换'))) return;
      await uploadOne(file, d);
      loadDocs();
    });
    document.body.appendChild(input);
    input.click();
  }

  async function uploadOne(file, target) {
    const card = jobCard(target ? `${file.name} → 替换 ${target.title}` : file.name);
    const form = new FormData();
    form.append('file', file, file.name);
    const url = target ? `/api/admin/documents?replace=${encodeURIComponent(target.doc_id)}` : '/api/admin/documents';
    try {
      const res = await api(url, { form, staff: true });
      card.state.textContent = JOB_STATUS.queued;
      const r = res.replaces;
      card.note.appendChild(h('p', { text: r
        ? `将替换：${r.title}（${r.doc_id}，v${r.version}，${r.chunk_count} 个分块）`
        : `将新增为文档 ${res.doc_id}` }));
      for (const same of res.same_name || []) {
        card.note.appendChild(h('p', { class: 'muted', text:
          `已有同名文档“${same.title}”（${same.doc_id}），未被替换；如需替换，请在文档列表中点击它的“替换”。` }));
      }
      await pollJob(res.job_id || res.id, card);
    } catch (e) {
      card.state.textContent = '上传失败';
      card.detail.appendChild(h('p', { class: 'error', text: e.message }));
      card.li.classList.add('has-error');
      card.li.dataset.status = 'failed';
    }
  }

  $('upload-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const files = Array.from($('upload-file').files || []);
    $('upload-error').textContent = files.length ? '' : '请先选择要上传的文件。';
    if (!files.length) return;
    $('upload-submit').disabled = true;
    try {
      for (const f of files) await uploadOne(f);
    } finally {
      $('upload-submit').disabled = false;
      $('upload-form').reset();
      loadDocs();
    }
  });

  $('reindex').addEventListener('click', async () => {
    if (!(await confirmDialog('重建索引会重新切分并嵌入全部文档，期间检索仍可用。确定开始吗？', '开始'))) return;
    const card = jobCard('重建索引');
    try {
      const res = await api('/api/admin/reindex', { method: 'POST', staff: true });
      await pollJob(res.job_id || res.id, card);
      loadDocs();
    } catch (e) {
      card.state.textContent = '失败';
      card.detail.appendChild(h('p', { class: 'error', text: e.message }));
    }
  });

  // --- synonyms ---------------------------------------------------------------------------------
  async function loadSynonyms() {
    try {
      const res = await api('/api/admin/synonyms');
      $('synonyms-text').value = res.text || '';
      $('synonyms-error').textContent = '';
      $('synonyms-status').textContent = '';
    } catch (e) {
      failed(e);
    }
  }

  $('synonyms-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const errBox = clear($('synonyms-error'));
    $('synonyms-status').textContent = '正在保存…';
    try {
      await api('/api/admin/synonyms', { method: 'PUT', json: { text: $('synonyms-text').value }, staff: true });
      $('synonyms-status').textContent = `已保存 ${fmtTime(new Date().toISOString())}`;
    } catch (e) {
      $('synonyms-status').textContent = '';
      errBox.appendChild(h('p', { text: `保存失败：${e.message}` }));
      const details = e.body && e.body.error && (e.body.error.details || e.body.error.errors);
      if (Array.isArray(details)) {
        errBox.appendChild(h('ul', null, details.map((d) => h('li', { text: typeof d === 'string' ? d : (d.msg || JSON.stringify(d)) }))));
      }
      if (!(e instanceof ApiError) || e.status === 401) failed(e);
    }
  });
  $('synonyms-reload').addEventListener('click', loadSynonyms);

  // --- analytics --------------------------------------------------------------------------------
  async function loadAnalytics() {
    try {
      const a = await api(`/api/admin/analytics?days=${encodeURIComponent($('days').value)}`);
      const ratings = a.ratings || {};
      const totalRatings = LEVELS.reduce((s, l) => s + (ratings[l] || 0), 0);
      $('stat-questions').textContent = String(a.questions ?? 0);
      $('stat-noevidence').textContent = `${((a.no_evidence_rate || 0) * 100).toFixed(1)}%`;
      $('stat-ratings').textContent = String(totalRatings);
      const perDay = Object.entries(a.per_day || {});
      clear($('chart-days')).appendChild(barChart(perDay, {
        label: `每日提问量，共 ${perDay.length} 天，合计 ${a.questions ?? 0} 个问题`,
        shortLabel: (d) => d.slice(5),
      }));
      clear($('chart-ratings')).appendChild(barChart(LEVELS.map((l) => [l, ratings[l] || 0]), {
        width: 420, height: 200, label: LEVELS.map((l) => `${l} ${ratings[l] || 0}`).join('，'),
        barClass: (_l, i) => (i >= 3 ? 'bad' : 'good'),
      }));
      const gaps = clear($('gaps'));
      for (const g of a.knowledge_gaps || []) gaps.appendChild(h('li', null, g.question, h('span', { class: 'badge', text: `${g.count}次` })));
      if (!gaps.children.length) gaps.appendChild(h('li', { class: 'muted', text: '暂无（所有咨询都找到了依据）。' }));
    } catch (e) {
      failed(e);
    }
    try {
      const list = clear($('followups'));
      const items = await api('/api/followups');
      for (const f of items) {
        list.appendChild(h('li', { class: 'followup' },
          h('strong', { class: 'fu-level', text: f.level }), ' ', h('span', { class: 'muted small', text: fmtTime(f.created_at) }),
          h('p', { text: `问：${f.question || ''}` }),
          f.comment ? h('p', { text: `意见：${f.comment}` }) : null));
      }
      if (!items.length) list.appendChild(h('li', { class: 'muted', text: '暂无需要回访的差评。' }));
    } catch (e) {
      failed(e);
    }
  }
  $('days').addEventListener('change', loadAnalytics);

  // --- eval report ------------------------------------------------------------------------------
  async function loadEval() {
    const box = clear($('eval'));
    try {
      const rep = await api('/api/admin/eval/latest');
      for (const url of rep.plots || []) {
        if (typeof url === 'string' && url.startsWith('/')) box.appendChild(h('img', { src: url, alt: '评测图表', class: 'plot' }));
      }
      box.prepend(h('pre', { class: 'report', text: rep.markdown || JSON.stringify(rep.json, null, 2) }));
    } catch (e) {
      box.appendChild(h('p', { class: 'muted', text: e instanceof ApiError && e.status === 404
        ? '暂无评测报告。运行 govchat eval 生成后会显示在这里。' : e.message }));
    }
  }

  // --- tabs -------------------------------------------------------------------------------------
  const loaders = { docs: loadDocs, synonyms: loadSynonyms, analytics: loadAnalytics, eval: loadEval };
  const names = Object.keys(loaders);

  function selectTab(name, focus) {
    for (const t of names) {
      const on = t === name;
      $(`tab-${t}`).setAttribute('aria-selected', on ? 'true' : 'false');
      $(`tab-${t}`).tabIndex = on ? 0 : -1;
      $(`panel-${t}`).hidden = !on;
    }
    if (focus) $(`tab-${name}`).focus();
    if (root.location.hash !== `#${name}`) root.history.replaceState(null, '', `#${name}`);
    loaders[name]();
  }

  names.forEach((name, i) => {
    const tab = $(`tab-${name}`);
    tab.addEventListener('click', () => selectTab(name));
    tab.addEventListener('keydown', (ev) => {
      if (ev.key !== 'ArrowRight' && ev.key !== 'ArrowLeft') return;
      selectTab(names[(i + (ev.key === 'ArrowRight' ? 1 : names.length - 1)) % names.length], true);
    });
  });

  $('doc-filter').addEventListener('input', renderDocs);
  $('docs-refresh').addEventListener('click', loadDocs);
  $('logout').addEventListener('click', logout);

  async function start() {
    const me = await requireStaff('/admin');
    if (!me) return;
    $('whoami').textContent = `${me.user || me.username || ''}（${me.role === 'admin' ? '管理员' : '帮办人员'}）`;
    if (me.role !== 'admin') {
      $('forbidden').hidden = false;
      document.querySelectorAll('.panel, .tabs').forEach((n) => { n.hidden = true; });
      return;
    }
    const wanted = root.location.hash.slice(1);
    selectTab(names.includes(wanted) ? wanted : 'docs');
  }

  start().catch(failed);
})(window);
