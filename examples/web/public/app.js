// The account page's API demo: a token pair from the session, a call with
// the access token, a refresh (rotation), and a logout that hands both
// tokens to the server so that they are revoked with the session.  The
// tokens live in sessionStorage, which the logout's Clear-Site-Data header
// wipes.
const out = document.getElementById('api-out');
const show = (o) => { out.textContent = JSON.stringify(o, null, 2); };
const get = (k) => sessionStorage.getItem(k) ?? '';

async function call(url, opts) {
  const res = await fetch(url, opts);
  const body = await res.json().catch(() => ({}));
  return { status: res.status, body };
}

document.getElementById('get-token').addEventListener('click', async () => {
  const r = await call('/api/token', { method: 'POST' });
  if (r.status === 200) {
    sessionStorage.setItem('access_token', r.body.access_token);
    sessionStorage.setItem('refresh_token', r.body.refresh_token);
  }
  show(r);
});

document.getElementById('call-api').addEventListener('click', async () => {
  show(await call('/api/me', { headers: { Authorization: `Bearer ${get('access_token')}` } }));
});

document.getElementById('refresh-token').addEventListener('click', async () => {
  const r = await call('/api/refresh', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ refresh_token: get('refresh_token') }),
  });
  if (r.status === 200) {
    sessionStorage.setItem('access_token', r.body.access_token);
    sessionStorage.setItem('refresh_token', r.body.refresh_token);
  }
  show(r);
});

document.getElementById('logout').addEventListener('submit', (e) => {
  e.target.elements.access_token.value = get('access_token');
  e.target.elements.refresh_token.value = get('refresh_token');
});
