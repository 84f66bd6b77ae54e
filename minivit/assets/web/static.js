// The static demo: the Voila app's page with the kernel's part done here, in the browser. The pad (pad.js) and the
// answer (readout.js) are the Voila app's own modules, driven through a stand-in for the widget model anywidget gives
// them; the drawing is preprocessed as minivit.preprocess does it (preprocess.js) and read by the shipped ONNX files
// in onnxruntime-web; the pictures are painted as minivit.explain paints them. Nothing is sent anywhere.
import pad from './pad.js';
import readout from './readout.js';
import { canvasToMnist } from './preprocess.js';
import * as ort from './ort/ort.wasm.min.mjs';

const config = JSON.parse(document.getElementById('minivit-config').textContent);
const app = document.querySelector('.minivit-app');
const $ = s => app.querySelector(s);

ort.env.wasm.wasmPaths = new URL('./ort/', import.meta.url).href;
ort.env.wasm.numThreads = 1;               // threads need cross-origin isolation, which a static host rarely gives

// What anywidget hands a widget's script: get, set, on('change:name'), send. Here `send` calls the page's handler.
class WidgetModel {
  constructor(state, onMessage = () => {}) { this.state = { ...state }; this.handlers = {}; this.onMessage = onMessage; }
  get(name) { return this.state[name]; }
  set(changes) {
    Object.assign(this.state, changes);
    for (const name of Object.keys(changes)) for (const f of this.handlers[`change:${name}`] || []) f();
  }
  on(event, f) { (this.handlers[event] ||= []).push(f); }
  send(msg) { this.onMessage(msg); }
}

// The drawing, as minivit.app.Strokes keeps it: flat point lists, at most `max_points` points and `max_strokes` strokes.
const drawing = { done: [], current: null, points: 0 };
const full = () => drawing.points >= config.max_points || drawing.done.length >= config.max_strokes;
function extend(flat) {
  if (!drawing.current || !Array.isArray(flat)) return;
  for (let i = 0; i + 1 < flat.length && drawing.points < config.max_points; i += 2) {
    const x = Number(flat[i]), y = Number(flat[i + 1]), c = drawing.current, n = c.length;
    if (!Number.isFinite(x) || !Number.isFinite(y) || (n && c[n - 2] === x && c[n - 1] === y)) continue;
    c.push(x, y); drawing.points += 1;
  }
}

const padModel = new WidgetModel({ size: config.size, pen_width: config.pen_width, interval: config.interval,
                                   strokes: [], seq: 0 }, onPad);
const answer = new WidgetModel({ result: { text: config.hint, state: 'empty', probs: [], label: -1, seq: 0 } });
const padEl = $('.minivit-pad');
pad.render({ model: padModel, el: padEl });
readout.render({ model: answer, el: $('.minivit-readout') });
const canvas = padEl.querySelector('canvas');
let seq = 0, status = '';

function onPad(msg) {
  if (!msg || !['down', 'move', 'up'].includes(msg.kind)) return;
  if (Number.isSafeInteger(msg.seq) && msg.seq >= 0) seq = msg.seq;
  if (msg.kind === 'down') {
    if (drawing.current) end();
    status = full() ? config.full : '';
    drawing.current = full() ? null : [];
    extend(msg.points);
    if (drawing.current && !drawing.current.length) drawing.current = null;
  } else extend(msg.points);
  if (msg.kind === 'up') { end(); confirm(); read(); }
  else if (msg.kind === 'move' && drawing.current) read();
}
function end() {
  if (drawing.current && drawing.current.length) drawing.done.push(drawing.current);
  drawing.current = null;
}
function confirm() { padModel.set({ strokes: drawing.done.map(s => s.slice()), seq }); }   // what the pad shows

// Models: an ONNX Runtime session each, made when first chosen; the card's temperature and normalisation.
const sessions = {};
let chosen = config.models[0];
function session(model) {
  return sessions[model.name] ||= ort.InferenceSession.create(`models/${model.name}.onnx`,
    { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
}

function softmax(logits, temperature) {
  const z = Array.from(logits, v => v / temperature), top = Math.max(...z);
  const e = z.map(v => Math.exp(v - top)), sum = e.reduce((a, b) => a + b, 0);
  return e.map(v => v / sum);
}

// minivit.explain.attention_rollout (heads averaged, half identity for the skip connection) and rollout_cls_map.
function rolloutCls(fulls, heads, n) {
  let roll = null;
  for (const a of fulls) {
    const mixed = new Float64Array(n * n);
    for (let h = 0; h < heads; h++) for (let i = 0; i < n * n; i++) mixed[i] += a[h * n * n + i] / heads;
    for (let r = 0; r < n; r++) {
      let s = 0;
      for (let c = 0; c < n; c++) { const v = 0.5 * mixed[r * n + c] + (r === c ? 0.5 : 0); mixed[r * n + c] = v; s += v; }
      for (let c = 0; c < n; c++) mixed[r * n + c] /= s;
    }
    if (!roll) { roll = mixed; continue; }
    const next = new Float64Array(n * n);
    for (let r = 0; r < n; r++) for (let k = 0; k < n; k++) {
      const v = mixed[r * n + k];
      for (let c = 0; c < n; c++) next[r * n + c] += v * roll[k * n + c];
    }
    roll = next;
  }
  return roll.slice(1, n);                          // the CLS token's row, CLS itself dropped
}

function normalise(map) {                           // minivit.explain.normalise_map
  let lo = Infinity, hi = -Infinity;
  for (const v of map) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  return Array.from(map, v => (hi > lo ? (v - lo) / (hi - lo) : 0));
}

// minivit.explain.attention_overlay at 28x28: the digit in grey, the map (nearest-neighbour) blended in green.
function paint(canvasEl, image, map, side) {
  const ctx = canvasEl.getContext('2d'), img = ctx.createImageData(28, 28), d = img.data;
  const alpha = map ? normalise(map) : null;
  for (let r = 0; r < 28; r++) for (let c = 0; c < 28; c++) {
    const i = r * 28 + c, base = image ? Math.round(Math.min(1, Math.max(0, image[i])) * 255) : 0;
    const a = alpha ? 0.75 * alpha[Math.floor(r * side / 28) * side + Math.floor(c * side / 28)] : 0;
    d[4 * i] = d[4 * i + 2] = Math.round(base * (1 - a)); d[4 * i + 1] = Math.round(base * (1 - a) + 255 * a);
    d[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

function headGrid(model) {                          // the details' pictures, one row per block, for `model`
  const heads = $('.minivit-heads');
  if (heads.dataset.model === model.name) return [...heads.querySelectorAll('canvas')];
  heads.innerHTML = model.heads.map((n, b) => '<div class="minivit-block">' + Array.from({ length: n }, (_, h) =>
    `<div class="minivit-head"><canvas width="28" height="28"></canvas><div class="minivit-label">block ${b + 1}, ` +
    `head ${h + 1}</div></div>`).join('') + '</div>').join('');
  heads.dataset.model = model.name;
  return [...heads.querySelectorAll('canvas')];
}

function showPictures(model, reading) {
  const heads = headGrid(model);
  $('.minivit-rollout').style.display = model.rollout ? '' : 'none';
  $('.minivit-note').textContent = model.rollout ? '' : config.no_rollout;
  paint($('.minivit-seen canvas'), reading && reading.image, null, model.side);
  if (model.rollout) paint($('.minivit-rollout canvas'), reading && reading.image, reading && reading.rollout, model.side);
  heads.forEach((c, i) => paint(c, reading && reading.image, reading && reading.maps[i], model.side));
}

function show(result, model, reading, drawn = seq) {
  answer.set({ result: { status, timing: '', probs: [], label: -1, ...result, seq: drawn } });
  showPictures(model, reading);
  window.minivitReading = reading ? { model: model.name, label: result.label, probs: result.probs,
                                      image: Array.from(reading.image), seq: drawn } : { model: model.name, label: null, seq: drawn };
}

async function predict(model, image) {
  const x = new Float32Array(784), mean = Math.fround(model.mean), std = Math.fround(model.std);
  for (let i = 0; i < 784; i++) x[i] = Math.fround(Math.fround(image[i] - mean) / std);   // minivit.contract.normalise
  const s = await session(model), t0 = performance.now();
  const out = await s.run({ [config.input_name]: new ort.Tensor('float32', x, [1, 1, 28, 28]) });
  const ms = performance.now() - t0, blocks = model.heads.length, side = model.side, n = side * side + 1;
  const maps = [];
  for (let b = 0; b < blocks; b++) {
    const m = out[`attn_${b}`].data;
    for (let h = 0; h < model.heads[b]; h++) maps.push(m.slice(h * side * side, (h + 1) * side * side));
  }
  const rollout = model.rollout ? rolloutCls(Array.from({ length: blocks }, (_, b) => out[`attn_full_${b}`].data),
                                             model.heads[0], n) : null;
  return { probs: softmax(out.logits.data, model.temperature), maps, rollout, image, ms };
}

// One reading at a time; a drawing that changes meanwhile is read once the current reading is done.
let busy = false, again = false;
async function read() {
  if (busy) { again = true; return; }
  busy = true;
  try {
    do {
      again = false;
      const model = chosen, t0 = performance.now(), drawn = seq;     // the pad message this reading includes
      const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
      const image = drawing.done.length || drawing.current ? canvasToMnist(px.data, px.width, px.height) : null;
      const prepMs = performance.now() - t0;
      if (!image) { show({ text: config.hint, state: 'empty' }, model, null, drawn); continue; }
      const r = await predict(model, image);
      const label = r.probs.indexOf(Math.max(...r.probs));
      show({ text: `Prediction: ${label} (${(100 * r.probs[label]).toFixed(1)}%)`, state: 'shown', label,
             probs: r.probs.map(p => Math.round(p * 1e4) / 1e4),
             timing: `Inference ${r.ms.toFixed(1)} ms (${model.label} model, in your browser), ` +
                     `drawing to 28x28 ${prepMs.toFixed(1)} ms` }, model, r, drawn);
    } while (again);
  } catch (e) {
    status = `Something went wrong: ${e && e.message ? e.message : e}`;
    answer.set({ result: { ...answer.get('result'), status, seq } });
  } finally { busy = false; }
}

// Controls: the model toggle, Undo and Clear.
const toggle = $('.minivit-model');
for (const model of config.models) {
  const b = document.createElement('button');
  b.type = 'button'; b.textContent = model.label; b.title = `${model.label} model`;
  b.setAttribute('aria-pressed', String(model === chosen));
  b.addEventListener('click', () => choose(model));
  toggle.appendChild(b);
}
async function choose(model) {
  if (model === chosen) return;
  chosen = model;
  toggle.querySelectorAll('button').forEach((b, i) => b.setAttribute('aria-pressed', String(config.models[i] === model)));
  status = sessions[model.name] ? '' : `Loading the ${model.label} model (${model.megabytes} MB)...`;
  answer.set({ result: { ...answer.get('result'), status } });
  try { await session(model); status = ''; }
  catch (e) { status = `The ${model.label} model could not be loaded: ${e && e.message ? e.message : e}`; }
  if (chosen === model) read();
}
$('.minivit-undo').addEventListener('click', () => {
  const last = drawing.done.pop();
  if (last) drawing.points -= last.length / 2;
  status = ''; confirm(); read();
});
$('.minivit-clear').addEventListener('click', () => {
  drawing.done = []; drawing.current = null; drawing.points = 0;
  status = ''; confirm(); read();
});

// Ready once the first model is loaded: the hint, black pictures, and the page marked ready.
session(chosen).then(() => { show({ text: config.hint, state: 'empty' }, chosen, null); app.dataset.ready = 'true'; },
  e => { status = `The ${chosen.label} model could not be loaded: ${e && e.message ? e.message : e}`;
         answer.set({ result: { ...answer.get('result'), status } }); });
