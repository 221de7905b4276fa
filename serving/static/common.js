/* govchat pages: shared helpers (API calls, safe DOM building, SSE parsing, dialogs).
 *
 * Plain script (no build step, no third-party code): it defines `window.GC`. Everything that shows
 * server text goes through textContent, never innerHTML, so an answer can never inject markup.
 */
(function (root) {
  'use strict';

  const CSRF_KEY = 'govchat.csrf';

  class ApiError extends Error {
    constructor(status, code, message, body) {
      super(message);
      this.name = 'ApiError';
      this.status = status;
      this.code = code;
      this.body = body;
    }
  }

  function friendlyMessage(status, fallback) {
    if (status === 401) return '请先登录。';
    if (status === 403) return '没有权限执行此操作。';
    if (status === 404) return '未找到相关内容。';
    if (status === 413) return '文件太大。';
    if (status === 415) return '不支持的文件类型。';
    if (status === 429) return '请求过于频繁，请稍后再试。';
    if (status >= 500) return '服务暂时不可用，请稍后重试；紧急事项请拨打12345政务服务便民热线。';
    return fallback || '请求失败。';
  }

  async function errorFrom(res) {
    let body = null;
    try {
      body = await res.json();
    } catch (_e) {
      body = null;
    }
    const err = body && body.error ? body.error : {};
    let message = typeof err.message === 'string' && err.message ? err.message : friendlyMessage(res.status);
    if (res.status === 429) {
      const wait = res.headers.get('Retry-After');
      if (wait) message = `请求过于频繁，请 ${wait} 秒后再试。`;
    }
    return new ApiError(res.status, err.code || String(res.status), message, body);
  }

  /**
   * Calls the govchat API. JSON in, JSON out; errors become ApiError with the server's Chinese message.
   * @param {string} path
   * @param {{method?: string, json?: any, form?: FormData, signal?: AbortSignal, staff?: boolean,
   *          raw?: boolean}} [opts] staff: send the X-CSRF-Token kept from the login response.
   */
  async function api(path, opts) {
    const o = opts || {};
    const method = o.method || (o.json !== undefined || o.form ? 'POST' : 'GET');
    const headers = { Accept: 'application/json' };
    let body;
    if (o.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(o.json);
    } else if (o.form) {
      body = o.form;
    }
    if (o.staff && method !== 'GET') {
      const token = sessionStorage.getItem(CSRF_KEY);
      if (token) headers['X-CSRF-Token'] = token;
    }
    let res;
    try {
      res = await fetch(path, { method, headers, body, signal: o.signal, credentials: 'same-origin' });
    } catch (e) {
      if (e && e.name === 'AbortError') throw e;
      throw new ApiError(0, 'network', '网络连接失败，请检查网络后重试。', null);
    }
    if (!res.ok) throw await errorFrom(res);
    if (o.raw) return res;
    if (res.status === 204) return null;
    const type = res.headers.get('Content-Type') || '';
    return type.includes('json') ? res.json() : res.text();
  }

  /**
   * Reads a text/event-stream body and calls onEvent(name, data) per event (data parsed as JSON
   * when it is JSON). Used for POST streams, which EventSource cannot make.
   */
  async function readSSE(res, onEvent) {
    const reader = res.body.getReader();
    const decoder = new TextDecoder('utf-8');
    let buffer = '';
    const dispatch = (block) => {
      let name = 'message';
      const data = [];
      for (const line of block.split(/\r\n|\r|\n/)) {
        if (!line || line.startsWith(':')) continue;
        const idx = line.indexOf(':');
        const field = idx === -1 ? line : line.slice(0, idx);
        let value = idx === -1 ? '' : line.slice(idx + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'event') name = value;
        else if (field === 'data') data.push(value);
      }
      if (!data.length) return;
      const text = data.join('\n');
      let parsed = text;
      try {
        parsed = JSON.parse(text);
      } catch (_e) {
        parsed = text;
      }
      onEvent(name, parsed);
    };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let m;
      while ((m = /\r\n\r\n|\n\n|\r\r/.exec(buffer))) {
        const block = buffer.slice(0, m.index);
        buffer = buffer.slice(m.index + m[0].length);
        dispatch(block);
      }
    }
    buffer += decoder.decode();
    if (buffer.trim()) dispatch(buffer);
  }

  /**
   * Builds an element. props: class, text, attrs (object), on (object of listeners), dataset,
   * and any other key set as a property (e.g. type, value, disabled, htmlFor).
   */
  function h(tag, props, ...children) {
    const node = document.createElement(tag);
    const p = props || {};
    for (const [key, value] of Object.entries(p)) {
      if (value === undefined || value === null) continue;
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = value;
      else if (key === 'attrs') for (const [a, v] of Object.entries(value)) node.setAttribute(a, v);
      else if (key === 'on') for (const [ev, fn] of Object.entries(value)) node.addEventListener(ev, fn);
      else if (key === 'dataset') Object.assign(node.dataset, value);
      else node[key] = value;
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(typeof child === 'string' || typeof child === 'number'
        ? document.createTextNode(String(child)) : child);
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function fmtTime(value) {
    if (value === null || value === undefined || value === '') return '';
    const d = typeof value === 'number' ? new Date(value < 1e12 ? value * 1000 : value) : new Date(value);
    if (Number.isNaN(d.getTime())) return String(value);
    const pad = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  /** An accessible confirm built on <dialog> (Esc cancels); resolves true when confirmed. */
  function confirmDialog(message, okLabel) {
    return new Promise((resolve) => {
      const ok = h('button', { type: 'button', class: 'btn danger', text: okLabel || '确定' });
      const cancel = h('button', { type: 'button', class: 'btn', text: '取消' });
      const title = h('p', { class: 'confirm-text', id: 'gc-confirm-text', text: message });
      const dlg = h('dialog', { class: 'confirm', attrs: { 'aria-labelledby': 'gc-confirm-text' } },
        title, h('div', { class: 'actions' }, cancel, ok));
      const opener = document.activeElement;
      let result = false;
      ok.addEventListener('click', () => { result = true; dlg.close(); });
      cancel.addEventListener('click', () => dlg.close());
      dlg.addEventListener('close', () => {
        dlg.remove();
        if (opener && opener.focus) opener.focus();
        resolve(result);
      });
      document.body.appendChild(dlg);
      dlg.showModal();
      cancel.focus();
    });
  }

  /** Staff pages: the current user, or a redirect to the login page when not logged in. */
  async function requireStaff(nextPath) {
    try {
      const me = await api('/api/auth/me');
      if (me && me.csrf_token) sessionStorage.setItem(CSRF_KEY, me.csrf_token);
      return me;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        root.location.replace(`/login?next=${encodeURIComponent(nextPath)}`);
        return null;
      }
      throw e;
    }
  }

  /** Staff pages: a toast for outcomes, and an error handler that sends a logged-out user to login. */
  function staffFeedback(nextPath) {
    function toast(text) {
      const t = document.getElementById('toast');
      t.textContent = text;
      t.classList.add('show');
      clearTimeout(toast.timer);
      toast.timer = setTimeout(() => t.classList.remove('show'), 3500);
    }
    function failed(e) {
      if (e instanceof ApiError && e.status === 401) {
        root.location.replace(`/login?next=${encodeURIComponent(nextPath)}`);
        return;
      }
      toast(e.message || '操作失败');
    }
    return { toast, failed };
  }

  async function logout() {
    try {
      await api('/api/auth/logout', { method: 'POST', staff: true });
    } finally {
      sessionStorage.removeItem(CSRF_KEY);
      root.location.assign('/login');
    }
  }

  root.GC = { ApiError, api, readSSE, h, append, clear, fmtTime, confirmDialog, requireStaff, staffFeedback, logout,
    CSRF_KEY, friendlyMessage };
})(window);
