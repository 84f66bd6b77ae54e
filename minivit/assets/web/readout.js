// The answer to a drawing: the prediction, a status line, the ten probabilities and the timing. The kernel sends
// them in one message (`result`); nothing here is computed. The pictures are not drawn here: they are ipycanvas
// canvases the kernel paints (see minivit/app.py).
//
// The element is marked with the pad message it answers (`data-seq`) and with whether it shows a reading
// (`data-state`: 'shown' or 'empty'); the browser tests and the load benchmark read both. Class names: app.css.
function render({ model, el }) {
  el.innerHTML = `<div class="minivit-prediction" aria-live="polite"></div><div class="minivit-status"></div>
    <div class="minivit-bars"></div><div class="minivit-time"></div>`;
  const $ = s => el.querySelector(s);
  const bars = $('.minivit-bars');
  for (let d = 0; d < 10; d++) bars.insertAdjacentHTML('beforeend', `<div class="minivit-bar" data-digit="${d}">
    <span class="minivit-bar-digit">${d}</span><span class="minivit-bar-track"><span class="minivit-bar-fill">
    </span></span><span class="minivit-bar-value"></span></div>`);

  function update() {
    const r = model.get('result') || {};
    $('.minivit-prediction').textContent = r.text || '';
    $('.minivit-status').textContent = r.status || '';
    $('.minivit-time').textContent = r.timing || '';
    const probs = Array.isArray(r.probs) ? r.probs : [];
    bars.querySelectorAll('.minivit-bar').forEach((bar, d) => {
      const p = Math.max(0, Math.min(100, 100 * (Number(probs[d]) || 0)));
      bar.classList.toggle('minivit-bar-top', d === r.label);
      bar.querySelector('.minivit-bar-fill').style.width = p.toFixed(1) + '%';
      bar.querySelector('.minivit-bar-value').textContent = p.toFixed(1) + '%';
    });
    el.dataset.seq = r.seq ?? 0;
    el.dataset.state = r.state || '';
  }
  model.on('change:result', update);
  update();
}
export default { render };
