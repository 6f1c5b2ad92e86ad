// HTML with escaping: html`...${value}...` escapes every value except the
// results of html`` itself (and arrays of them).

const SAFE = Symbol('safe html');

function esc(v) {
  return String(v).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

function part(v) {
  if (v == null || v === false) return '';
  if (Array.isArray(v)) return v.map(part).join('');
  if (typeof v === 'object' && v[SAFE]) return v.text;
  return esc(v);
}

export function html(strings, ...values) {
  let text = strings[0];
  values.forEach((v, i) => { text += part(v) + strings[i + 1]; });
  return { [SAFE]: true, text, toString() { return text; } };
}

export function page(title, body, { script = false } = {}) {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title><link rel="stylesheet" href="/static/app.css">
${script ? html`<script src="/static/app.js" defer></script>` : ''}</head>
<body><main><h1>${title}</h1>
${body}
</main><footer>pam_authguard reference application &mdash; a demo: do not run it as it is in production</footer></body></html>
`.text;
}
