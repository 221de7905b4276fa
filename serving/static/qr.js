/* govchat QR encoder: ISO/IEC 18004 byte mode, error correction L or M, versions 1-40.
 *
 * Why our own: the pages may load nothing from third parties (CSP 'self'), and a handoff link is
 * far easier to open on a phone by scanning. Output is a boolean module matrix; `toSvg` draws it
 * as an inline SVG element (no data: URLs, which the CSP would refuse).
 */
(function (root) {
  'use strict';

  // Error-correction codewords per block and number of blocks, by version (index 0 = version 1).
  const EC_PER_BLOCK = {
    L: [7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28, 28, 28, 30, 30,
      26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
    M: [10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28, 28,
      28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28],
  };
  const NUM_BLOCKS = {
    L: [1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8, 8, 9, 9, 10, 12, 12, 12, 13, 14,
      15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25],
    M: [1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25,
      26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49],
  };
  const ECL_FORMAT_BITS = { L: 1, M: 0 };

  // GF(256) arithmetic over the QR polynomial x^8 + x^4 + x^3 + x^2 + 1.
  const EXP = new Uint8Array(512);
  const LOG = new Uint8Array(256);
  (function fillTables() {
    let x = 1;
    for (let i = 0; i < 255; i++) {
      EXP[i] = x;
      LOG[x] = i;
      x <<= 1;
      if (x & 0x100) x ^= 0x11d;
    }
    for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255];
  })();

  function gfMul(a, b) {
    return a === 0 || b === 0 ? 0 : EXP[LOG[a] + LOG[b]];
  }

  /** Generator polynomial of the given degree, highest coefficient first (leading 1 included). */
  function rsGenerator(degree) {
    let poly = [1];
    for (let i = 0; i < degree; i++) {
      const next = new Array(poly.length + 1).fill(0);
      for (let j = 0; j < poly.length; j++) {
        next[j] ^= poly[j];
        next[j + 1] ^= gfMul(poly[j], EXP[i]);
      }
      poly = next;
    }
    return poly;
  }

  function rsRemainder(data, gen) {
    const degree = gen.length - 1;
    const rem = new Array(degree).fill(0);
    for (const byte of data) {
      const factor = byte ^ rem.shift();
      rem.push(0);
      for (let i = 0; i < degree; i++) rem[i] ^= gfMul(gen[i + 1], factor);
    }
    return rem;
  }

  /** Modules available for data and EC codewords (everything but function patterns). */
  function rawDataModules(ver) {
    let result = (16 * ver + 128) * ver + 64;
    if (ver >= 2) {
      const numAlign = Math.floor(ver / 7) + 2;
      result -= (25 * numAlign - 10) * numAlign - 55;
      if (ver >= 7) result -= 36;
    }
    return result;
  }

  function dataCodewords(ver, ecl) {
    return Math.floor(rawDataModules(ver) / 8) - EC_PER_BLOCK[ecl][ver - 1] * NUM_BLOCKS[ecl][ver - 1];
  }

  function alignmentPositions(ver) {
    if (ver === 1) return [];
    const size = ver * 4 + 17;
    const numAlign = Math.floor(ver / 7) + 2;
    const step = ver === 32 ? 26 : Math.ceil((ver * 4 + 4) / (numAlign * 2 - 2)) * 2;
    const result = [6];
    for (let pos = size - 7; result.length < numAlign; pos -= step) result.splice(1, 0, pos);
    return result;
  }

  function utf8Bytes(text) {
    return Array.from(new TextEncoder().encode(text));
  }

  function chooseVersion(byteLength, ecl) {
    for (let ver = 1; ver <= 40; ver++) {
      const bits = 4 + (ver <= 9 ? 8 : 16) + byteLength * 8;
      if (bits <= dataCodewords(ver, ecl) * 8) return ver;
    }
    return 0;
  }

  function buildCodewords(bytes, ver, ecl) {
    const capacityBits = dataCodewords(ver, ecl) * 8;
    const bits = [];
    const push = (value, len) => {
      for (let i = len - 1; i >= 0; i--) bits.push((value >>> i) & 1);
    };
    push(0b0100, 4);
    push(bytes.length, ver <= 9 ? 8 : 16);
    for (const b of bytes) push(b, 8);
    push(0, Math.min(4, capacityBits - bits.length));
    push(0, (8 - (bits.length % 8)) % 8);
    for (let pad = 0xec; bits.length < capacityBits; pad ^= 0xec ^ 0x11) push(pad, 8);
    const data = [];
    for (let i = 0; i < bits.length; i += 8) {
      let byte = 0;
      for (let j = 0; j < 8; j++) byte = (byte << 1) | bits[i + j];
      data.push(byte);
    }
    // Split into blocks, append EC to each, then interleave.
    const numBlocks = NUM_BLOCKS[ecl][ver - 1];
    const ecLen = EC_PER_BLOCK[ecl][ver - 1];
    const rawCodewords = Math.floor(rawDataModules(ver) / 8);
    const numShort = numBlocks - (rawCodewords % numBlocks);
    const shortLen = Math.floor(rawCodewords / numBlocks);
    const gen = rsGenerator(ecLen);
    const blocks = [];
    for (let i = 0, k = 0; i < numBlocks; i++) {
      const len = shortLen - ecLen + (i < numShort ? 0 : 1);
      const dat = data.slice(k, k + len);
      k += len;
      blocks.push({ dat, ec: rsRemainder(dat, gen) });
    }
    const out = [];
    for (let i = 0; i <= shortLen - ecLen; i++) {
      for (const b of blocks) if (i < b.dat.length) out.push(b.dat[i]);
    }
    for (let i = 0; i < ecLen; i++) for (const b of blocks) out.push(b.ec[i]);
    return out;
  }

  class Grid {
    constructor(ver) {
      this.size = ver * 4 + 17;
      this.dark = Array.from({ length: this.size }, () => new Array(this.size).fill(false));
      this.fixed = Array.from({ length: this.size }, () => new Array(this.size).fill(false));
    }

    setFunction(x, y, dark) {
      this.dark[y][x] = dark;
      this.fixed[y][x] = true;
    }
  }

  function drawFunctionPatterns(grid, ver) {
    const size = grid.size;
    for (let i = 0; i < size; i++) {
      grid.setFunction(6, i, i % 2 === 0);
      grid.setFunction(i, 6, i % 2 === 0);
    }
    for (const [cx, cy] of [[3, 3], [size - 4, 3], [3, size - 4]]) {
      for (let dy = -4; dy <= 4; dy++) {
        for (let dx = -4; dx <= 4; dx++) {
          const x = cx + dx;
          const y = cy + dy;
          if (x < 0 || y < 0 || x >= size || y >= size) continue;
          const dist = Math.max(Math.abs(dx), Math.abs(dy));
          grid.setFunction(x, y, dist !== 2 && dist !== 4);
        }
      }
    }
    const pos = alignmentPositions(ver);
    const last = pos.length - 1;
    for (let i = 0; i <= last; i++) {
      for (let j = 0; j <= last; j++) {
        if ((i === 0 && j === 0) || (i === 0 && j === last) || (i === last && j === 0)) continue;
        for (let dy = -2; dy <= 2; dy++) {
          for (let dx = -2; dx <= 2; dx++) {
            grid.setFunction(pos[i] + dx, pos[j] + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
          }
        }
      }
    }
    drawFormatBits(grid, 'L', 0); // reserves the area; overwritten once the mask is chosen
    if (ver >= 7) {
      let rem = ver;
      for (let i = 0; i < 12; i++) rem = (rem << 1) ^ ((rem >>> 11) * 0x1f25);
      const bits = (ver << 12) | rem;
      for (let i = 0; i < 18; i++) {
        const bit = ((bits >>> i) & 1) === 1;
        const a = size - 11 + (i % 3);
        const b = Math.floor(i / 3);
        grid.setFunction(a, b, bit);
        grid.setFunction(b, a, bit);
      }
    }
  }

  function drawFormatBits(grid, ecl, mask) {
    const data = (ECL_FORMAT_BITS[ecl] << 3) | mask;
    let rem = data;
    for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
    const bits = ((data << 10) | rem) ^ 0x5412;
    const bit = (i) => ((bits >>> i) & 1) === 1;
    const size = grid.size;
    for (let i = 0; i <= 5; i++) grid.setFunction(8, i, bit(i));
    grid.setFunction(8, 7, bit(6));
    grid.setFunction(8, 8, bit(7));
    grid.setFunction(7, 8, bit(8));
    for (let i = 9; i < 15; i++) grid.setFunction(14 - i, 8, bit(i));
    for (let i = 0; i < 8; i++) grid.setFunction(size - 1 - i, 8, bit(i));
    for (let i = 8; i < 15; i++) grid.setFunction(8, size - 15 + i, bit(i));
    grid.setFunction(8, size - 8, true);
  }

  function placeCodewords(grid, codewords) {
    const size = grid.size;
    let i = 0;
    const total = codewords.length * 8;
    for (let right = size - 1; right >= 1; right -= 2) {
      if (right === 6) right = 5;
      for (let vert = 0; vert < size; vert++) {
        for (let j = 0; j < 2; j++) {
          const x = right - j;
          const upward = ((right + 1) & 2) === 0;
          const y = upward ? size - 1 - vert : vert;
          if (!grid.fixed[y][x] && i < total) {
            grid.dark[y][x] = ((codewords[i >>> 3] >>> (7 - (i & 7))) & 1) === 1;
            i++;
          }
        }
      }
    }
  }

  const MASKS = [
    (x, y) => (x + y) % 2 === 0,
    (x, y) => y % 2 === 0,
    (x) => x % 3 === 0,
    (x, y) => (x + y) % 3 === 0,
    (x, y) => (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0,
    (x, y) => ((x * y) % 2) + ((x * y) % 3) === 0,
    (x, y) => (((x * y) % 2) + ((x * y) % 3)) % 2 === 0,
    (x, y) => (((x + y) % 2) + ((x * y) % 3)) % 2 === 0,
  ];

  function applyMask(grid, mask) {
    const fn = MASKS[mask];
    for (let y = 0; y < grid.size; y++) {
      for (let x = 0; x < grid.size; x++) {
        if (!grid.fixed[y][x] && fn(x, y)) grid.dark[y][x] = !grid.dark[y][x];
      }
    }
  }

  const FINDER_LIKE = [
    [1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0],
    [0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1],
  ];

  /** The standard penalty score (rules N1-N4); the mask with the lowest score is used. */
  function penalty(m) {
    const n = m.length;
    const at = (row, col, vertical) => (vertical ? m[col][row] : m[row][col]);
    let score = 0;
    for (const vertical of [false, true]) {
      for (let r = 0; r < n; r++) {
        let run = 1;
        for (let c = 1; c <= n; c++) {
          if (c < n && at(r, c, vertical) === at(r, c - 1, vertical)) {
            run++;
          } else {
            if (run >= 5) score += 3 + (run - 5);
            run = 1;
          }
        }
        for (let c = 0; c + 11 <= n; c++) {
          for (const pattern of FINDER_LIKE) {
            let match = true;
            for (let k = 0; k < 11 && match; k++) match = at(r, c + k, vertical) === (pattern[k] === 1);
            if (match) score += 40;
          }
        }
      }
    }
    let dark = 0;
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        if (m[y][x]) dark++;
        if (y < n - 1 && x < n - 1) {
          const c = m[y][x];
          if (m[y][x + 1] === c && m[y + 1][x] === c && m[y + 1][x + 1] === c) score += 3;
        }
      }
    }
    score += Math.floor(Math.abs((dark * 100) / (n * n) - 50) / 5) * 10;
    return score;
  }

  /**
   * Encodes text (UTF-8, byte mode) as a QR code.
   * @param {string} text
   * @param {{ecl?: 'L'|'M', mask?: number}} [options] ecl defaults to M (falls back to L when too long);
   *   mask 0-7 forces a mask pattern (tests), otherwise the lowest-penalty mask is chosen.
   * @returns {{version: number, ecl: string, mask: number, size: number, modules: boolean[][]}}
   */
  function encode(text, options) {
    const opts = options || {};
    const bytes = utf8Bytes(String(text));
    let ecl = opts.ecl === 'L' ? 'L' : 'M';
    let ver = chooseVersion(bytes.length, ecl);
    if (!ver && ecl === 'M') {
      ecl = 'L';
      ver = chooseVersion(bytes.length, ecl);
    }
    if (!ver) throw new RangeError('text too long for a QR code');
    const codewords = buildCodewords(bytes, ver, ecl);
    const base = new Grid(ver);
    drawFunctionPatterns(base, ver);
    placeCodewords(base, codewords);
    const candidates = Number.isInteger(opts.mask) ? [opts.mask] : [0, 1, 2, 3, 4, 5, 6, 7];
    let best = null;
    for (const mask of candidates) {
      const grid = new Grid(ver);
      grid.dark = base.dark.map((row) => row.slice());
      grid.fixed = base.fixed;
      applyMask(grid, mask);
      drawFormatBits(grid, ecl, mask);
      const score = candidates.length === 1 ? 0 : penalty(grid.dark);
      if (best === null || score < best.score) best = { score, mask, grid };
    }
    return { version: ver, ecl, mask: best.mask, size: best.grid.size, modules: best.grid.dark };
  }

  /** An <svg> element drawing the code with a 4-module quiet zone; one path keeps it light. */
  function toSvg(text, options) {
    const qr = encode(text, options);
    const NS = 'http://www.w3.org/2000/svg';
    const border = 4;
    const dim = qr.size + border * 2;
    const svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('viewBox', `0 0 ${dim} ${dim}`);
    svg.setAttribute('shape-rendering', 'crispEdges');
    svg.setAttribute('role', 'img');
    svg.setAttribute('class', 'qr');
    const bg = document.createElementNS(NS, 'rect');
    bg.setAttribute('width', String(dim));
    bg.setAttribute('height', String(dim));
    bg.setAttribute('fill', '#ffffff');
    svg.appendChild(bg);
    let d = '';
    qr.modules.forEach((row, y) => {
      row.forEach((isDark, x) => {
        if (isDark) d += `M${x + border} ${y + border}h1v1h-1z`;
      });
    });
    const path = document.createElementNS(NS, 'path');
    path.setAttribute('d', d);
    path.setAttribute('fill', '#000000');
    svg.appendChild(path);
    return svg;
  }

  root.GovQR = { encode, toSvg };
})(window);
