/* Applies the 适老化 (large text, high contrast) preference before the first paint. */
(function () {
  'use strict';
  try {
    if (localStorage.getItem('govchat.elder') === '1') document.documentElement.classList.add('elder');
  } catch (_e) {
    /* storage blocked: default look */
  }
})();
