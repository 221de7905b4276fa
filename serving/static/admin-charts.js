/* govchat admin: tiny inline-SVG bar charts (no chart library; CSP allows only our own code). */
(function (root) {
  'use strict';
  const NS = 'http://www.w3.org/2000/svg';

  function el(tag, attrs, text) {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /**
   * Vertical bars for [label, value] pairs. Every bar carries a <title> so the value is readable on
   * hover and by screen readers; the whole chart gets a one-line summary as its accessible name.
   */
  function barChart(pairs, opts) {
    const o = opts || {};
    const width = o.width || 640;
    const height = o.height || 200;
    const pad = { top: 16, right: 8, bottom: 30, left: 34 };
    const max = Math.max(1, ...pairs.map(([, v]) => v));
    const innerW = width - pad.left - pad.right;
    const innerH = height - pad.top - pad.bottom;
    const svg = el('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', class: 'bar-chart',
      'aria-label': o.label || '' });
    const ticks = 4;
    for (let i = 0; i <= ticks; i++) {
      const value = Math.round((max * i) / ticks);
      const y = pad.top + innerH - (innerH * value) / max;
      svg.appendChild(el('line', { x1: pad.left, x2: width - pad.right, y1: y, y2: y, class: 'grid' }));
      svg.appendChild(el('text', { x: pad.left - 6, y: y + 4, 'text-anchor': 'end', class: 'axis' }, String(value)));
    }
    if (!pairs.length) {
      svg.appendChild(el('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'axis' }, '暂无数据'));
      return svg;
    }
    const slot = innerW / pairs.length;
    const barW = Math.max(2, Math.min(48, slot * 0.7));
    const every = Math.ceil(pairs.length / 12);
    pairs.forEach(([label, value], i) => {
      const x = pad.left + slot * i + (slot - barW) / 2;
      const hgt = (innerH * value) / max;
      const rect = el('rect', { x, y: pad.top + innerH - hgt, width: barW, height: Math.max(hgt, value ? 1 : 0),
        rx: 2, class: `bar ${o.barClass ? o.barClass(label, i) : ''}` });
      rect.appendChild(el('title', {}, `${label}：${value}`));
      svg.appendChild(rect);
      if (value && pairs.length <= 31) {
        svg.appendChild(el('text', { x: x + barW / 2, y: pad.top + innerH - hgt - 4, 'text-anchor': 'middle',
          class: 'value' }, String(value)));
      }
      if (i % every === 0) {
        svg.appendChild(el('text', { x: x + barW / 2, y: height - 10, 'text-anchor': 'middle', class: 'axis' },
          o.shortLabel ? o.shortLabel(label) : label));
      }
    });
    return svg;
  }

  root.AdminCharts = { barChart };
})(window);
