// A drawing on a canvas as the 28x28 image the model was trained on, in the browser: the JavaScript twin of
// minivit.preprocess.canvas_to_mnist, step for step, so that the page and the Python app give the model the same
// image (the static page's browser test checks it, pixel by pixel, on drawings made in Chromium):
//   ink: the canvas as grey levels (PIL's RGB-to-L formula; the alpha channel if any pixel is transparent),
//   crop: the smallest box holding every pixel brighter than `threshold`,
//   scale: the longer side to `box` pixels, with Pillow's Lanczos filter (its fixed-point arithmetic included),
//   centre: the centre of mass of the scaled digit at the frame's centre, Python's rounding (half to even).

export const THRESHOLD = 26, SIZE = 28, BOX = 20;

export function pyRound(x) {                         // Python's round(): halves go to the even neighbour
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function inkImage(rgba, width, height) {      // minivit.preprocess.ink_image for RGBA canvas pixels
  const n = width * height, ink = new Uint8Array(n);
  let opaque = true;
  for (let i = 0; i < n; i++) if (rgba[4 * i + 3] < 255) { opaque = false; break; }
  for (let i = 0; i < n; i++) {
    const j = 4 * i;
    ink[i] = opaque ? (rgba[j] * 19595 + rgba[j + 1] * 38470 + rgba[j + 2] * 7471 + 0x8000) >>> 16 : rgba[j + 3];
  }
  return ink;
}

const PRECISION_BITS = 32 - 8 - 2;                   // Pillow's Resample.c, 8 bits per channel

function sinc(x) { if (x === 0) return 1; x *= Math.PI; return Math.sin(x) / x; }
function lanczos(x) { return -3 <= x && x < 3 ? sinc(x) * sinc(x / 3) : 0; }

function coefficients(inSize, outSize) {             // Pillow's precompute_coeffs + normalize_coeffs_8bpc
  const scale = inSize / outSize, filterscale = Math.max(1, scale), support = 3 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1, kk = new Float64Array(outSize * ksize), bounds = new Int32Array(2 * outSize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale, ss = 1 / filterscale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) { const w = lanczos((x + xmin - center + 0.5) * ss); kk[xx * ksize + x] = w; ww += w; }
    for (let x = 0; x < xmax; x++) if (ww !== 0) kk[xx * ksize + x] /= ww;
    bounds[2 * xx] = xmin; bounds[2 * xx + 1] = xmax;
  }
  const fixed = new Float64Array(kk.length);
  for (let i = 0; i < kk.length; i++) fixed[i] = Math.trunc(kk[i] < 0 ? -0.5 + kk[i] * (1 << PRECISION_BITS)
                                                                       : 0.5 + kk[i] * (1 << PRECISION_BITS));
  return { ksize, k: fixed, bounds };
}

function clip8(ss) { return Math.max(0, Math.min(255, Math.floor(ss / (1 << PRECISION_BITS)))); }

function horizontalPass(src, w, rows, first, newW, horiz) {   // rows first .. first + rows - 1, to newW columns
  const out = new Uint8Array(newW * rows);
  for (let y = 0; y < rows; y++) for (let xx = 0; xx < newW; xx++) {
    const xmin = horiz.bounds[2 * xx], xmax = horiz.bounds[2 * xx + 1], base = xx * horiz.ksize;
    let ss = 1 << (PRECISION_BITS - 1);
    for (let x = 0; x < xmax; x++) ss += src[(y + first) * w + x + xmin] * horiz.k[base + x];
    out[y * newW + xx] = clip8(ss);
  }
  return out;
}

function verticalPass(src, w, newH, first, vert) {              // every column, to newH rows
  const out = new Uint8Array(w * newH);
  for (let yy = 0; yy < newH; yy++) {
    const ymin = vert.bounds[2 * yy] - first, ymax = vert.bounds[2 * yy + 1], base = yy * vert.ksize;
    for (let xx = 0; xx < w; xx++) {
      let ss = 1 << (PRECISION_BITS - 1);
      for (let y = 0; y < ymax; y++) ss += src[(y + ymin) * w + xx] * vert.k[base + y];
      out[yy * w + xx] = clip8(ss);
    }
  }
  return out;
}

// Image.resize((newW, newH), LANCZOS) of an 'L' image, two passes as Pillow makes them: each pass rounds to 8 bits,
// so their order matters. Pillow 13 runs the vertical pass first when the height shrinks more than twice as much
// as the width (earlier releases always ran the horizontal pass first, which gives up to a few grey levels apart).
export function resizeLanczos(src, w, h, newW, newH) {
  const needH = newW !== w, needV = newH !== h;
  if (!needH && !needV) return src.slice();
  const vert = coefficients(h, newH), horiz = coefficients(w, newW);
  const horizontalFirst = !(h - newH > 0 && h - newH > (w - newW) * 2);
  if (horizontalFirst) {
    let img = src, rows = h, first = 0;
    if (needH) {                                      // over the rows the vertical pass reads
      first = vert.bounds[0];
      rows = vert.bounds[2 * newH - 2] + vert.bounds[2 * newH - 1] - first;
      img = horizontalPass(src, w, rows, first, newW, horiz);
    }
    return needV ? verticalPass(img, needH ? newW : w, newH, first, vert) : img;
  }
  const img = needV ? verticalPass(src, w, newH, 0, vert) : src;
  return needH ? horizontalPass(img, w, newH, 0, newW, horiz) : img;
}

export function centerOfMass(img, w, h) {            // minivit.preprocess.center_of_mass: (row, column)
  let total = 0, sr = 0, sc = 0;
  for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) { const v = img[r * w + c]; total += v; sr += v * r; sc += v * c; }
  return [sr / total, sc / total];
}

// The (size x size) image as a Float32Array of values in [0, 1], white on black, or null when there is no ink.
export function canvasToMnist(rgba, width, height, { threshold = THRESHOLD, size = SIZE, box = BOX } = {}) {
  const ink = inkImage(rgba, width, height);
  let top = height, bottom = -1, left = width, right = -1;
  for (let r = 0; r < height; r++) for (let c = 0; c < width; c++) if (ink[r * width + c] > threshold) {
    if (r < top) top = r; if (r > bottom) bottom = r; if (c < left) left = c; if (c > right) right = c;
  }
  if (bottom < 0) return null;
  const h = bottom - top + 1, w = right - left + 1, crop = new Uint8Array(w * h);
  for (let r = 0; r < h; r++) crop.set(ink.subarray((top + r) * width + left, (top + r) * width + left + w), r * w);
  const scale = box / Math.max(h, w), newW = Math.max(1, pyRound(w * scale)), newH = Math.max(1, pyRound(h * scale));
  const digit = resizeLanczos(crop, w, h, newW, newH);
  const [cy, cx] = digit.some(v => v > 0) ? centerOfMass(digit, newW, newH) : [(newH - 1) / 2, (newW - 1) / 2];
  const ox = pyRound(Math.floor(size / 2) - cx), oy = pyRound(Math.floor(size / 2) - cy);
  const frame = new Float32Array(size * size);
  for (let r = 0; r < newH; r++) for (let c = 0; c < newW; c++) {
    const fr = r + oy, fc = c + ox;
    if (fr >= 0 && fr < size && fc >= 0 && fc < size) frame[fr * size + fc] = digit[r * newW + c] / 255;
  }
  return frame;
}
