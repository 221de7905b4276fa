/* govchat staff login: keeps the CSRF token for this tab and goes to the page the role may use. */
(function (root) {
  'use strict';
  const { api, ApiError, CSRF_KEY } = root.GC;
  const $ = (id) => document.getElementById(id);

  /** Only same-site paths of our own pages are followed after login (no open redirect). */
  function target(role) {
    const next = new URLSearchParams(root.location.search).get('next') || '';
    const allowed = role === 'admin' ? ['/admin', '/console'] : ['/console'];
    const path = next.split(/[?#]/)[0];
    if (next.startsWith('/') && !next.startsWith('//') && allowed.includes(path)) return next;
    return role === 'admin' ? '/admin' : '/console';
  }

  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const username = $('username').value.trim();
    const password = $('password').value;
    const err = $('login-error');
    if (!username || !password) {
      err.textContent = '请输入用户名和密码。';
      return;
    }
    err.textContent = '';
    $('login-submit').disabled = true;
    try {
      const res = await api('/api/auth/login', { json: { username, password } });
      sessionStorage.setItem(CSRF_KEY, res.csrf_token || '');
      root.location.assign(target(res.role));
    } catch (e) {
      err.textContent = e instanceof ApiError && e.status === 401 ? '用户名或密码错误。' : e.message;
      $('login-submit').disabled = false;
      $('password').select();
    }
  });
  document.body.dataset.ready = '1';
})(window);
