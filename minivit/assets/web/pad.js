// The drawing pad: strokes are drawn here, in the page, as the pointer moves (mouse, pen or finger). The kernel gets
// the new points at most every `interval` ms while a stroke goes on, and once more when it ends.
function render({ model, el }) {
  const canvas = document.createElement('canvas');
  canvas.className = 'minivit-canvas';
  el.appendChild(canvas);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });   // the static page reads it back
  let seq = model.get('seq'), pointer = null, current = null, buffer = [], timer = null, sent = [];

  const side = () => Math.max(16, Math.min(2048, Math.round(Number(model.get('size')) || 280)));
  function pen() {
    ctx.lineWidth = Math.max(1, Math.min(200, Number(model.get('pen_width')) || 18));
    ctx.lineCap = ctx.lineJoin = 'round';
    ctx.strokeStyle = ctx.fillStyle = 'white';
  }
  function dot(x, y) { ctx.beginPath(); ctx.arc(x, y, ctx.lineWidth / 2, 0, 2 * Math.PI); ctx.fill(); }
  function trace(p) {                                  // p = [x0, y0, x1, y1, ...]
    if (p.length < 2) return;
    if (p.length < 4) return dot(p[0], p[1]);
    ctx.beginPath(); ctx.moveTo(p[0], p[1]);
    for (let i = 2; i + 1 < p.length; i += 2) ctx.lineTo(p[i], p[i + 1]);
    ctx.stroke();
  }
  function paint() {                                   // the kernel's strokes, then those it has not confirmed yet
    ctx.fillStyle = 'black'; ctx.fillRect(0, 0, canvas.width, canvas.height);
    pen();
    const confirmed = model.get('seq');
    sent = sent.filter(s => s.seq > confirmed);
    for (const p of model.get('strokes')) trace(p);
    for (const s of sent) trace(s.points);
    if (current) trace(current);
  }
  function resize() {
    const s = side();
    canvas.width = canvas.height = s;
    canvas.style.width = canvas.style.height = s + 'px';
    paint();
  }
  function at(e) {                                     // canvas pixels, kept inside the canvas
    const r = canvas.getBoundingClientRect(), s = canvas.width;
    const f = v => Math.round(10 * Math.min(s, Math.max(0, v))) / 10;
    return [f((e.clientX - r.left) * s / r.width), f((e.clientY - r.top) * s / r.height)];
  }
  function send(kind) {
    seq += 1;
    model.send({ kind, seq, points: buffer });
    buffer = [];
    canvas.dataset.seq = seq;
  }
  function flush() { timer = null; if (current && buffer.length) send('move'); }
  function add(e) {
    const [x, y] = at(e), n = current.length, lx = current[n - 2], ly = current[n - 1];
    if (Math.hypot(x - lx, y - ly) < 1) return false;
    current.push(x, y); buffer.push(x, y);
    pen(); ctx.beginPath(); ctx.moveTo(lx, ly); ctx.lineTo(x, y); ctx.stroke();
    return true;
  }
  function down(e) {
    if (pointer !== null || e.button > 0) return;
    e.preventDefault();
    pointer = e.pointerId;
    try { canvas.setPointerCapture(e.pointerId); } catch (err) {}   // a synthetic pointer cannot be captured
    current = at(e); buffer = current.slice();
    pen(); dot(current[0], current[1]);
    send('down');
  }
  function move(e) {
    if (e.pointerId !== pointer) return;
    if (add(e) && timer === null) timer = setTimeout(flush, model.get('interval'));
  }
  function up(e) {
    if (e.pointerId !== pointer) return;
    if (e.type === 'pointerup') add(e);
    clearTimeout(timer); timer = null;
    send('up');
    sent.push({ seq, points: current });
    current = null; pointer = null;
  }
  canvas.addEventListener('pointerdown', down);
  canvas.addEventListener('pointermove', move);
  canvas.addEventListener('pointerup', up);
  canvas.addEventListener('pointercancel', up);
  model.on('change:strokes', paint);
  model.on('change:seq', paint);
  model.on('change:pen_width', paint);
  model.on('change:size', resize);
  resize();
  return () => clearTimeout(timer);
}
export default { render };
