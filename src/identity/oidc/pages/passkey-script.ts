/**
 * The one script of the hosted pages: a passkey ceremony needs navigator.credentials,
 * which no form can call. It asks this server for the options (a CSRF-protected JSON
 * POST), lets the browser decode them (WebAuthn Level 3
 * `PublicKeyCredential.parseRequestOptionsFromJSON`), and posts the assertion as
 * `credential.toJSON()` in an ordinary form, so the answer is a page like any other
 * sign-in's. No library, no bundler: the browser does the encoding.
 *
 * The button starts hidden: a browser without these WebAuthn Level 3 methods (or
 * without script) shows only the other ways to sign in.
 */
export const PASSKEY_SCRIPT = `
(() => {
  const button = document.getElementById('passkey-button');
  const form = document.getElementById('passkey-form');
  const status = document.getElementById('passkey-status');
  if (!button || !form || !status) return;
  if (!window.PublicKeyCredential || !PublicKeyCredential.parseRequestOptionsFromJSON) return;
  button.hidden = false;
  button.addEventListener('click', async () => {
    button.disabled = true;
    status.textContent = 'Waiting for your passkey…';
    try {
      const body = { _csrf: form.elements._csrf.value };
      if (form.elements.mfa_token) body.mfa_token = form.elements.mfa_token.value;
      const answer = await fetch(button.dataset.options, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        credentials: 'same-origin',
      });
      // A refusal answers problem JSON (a CSRF refusal, a page): either way, a message.
      const options = await answer.json().catch(() => ({}));
      if (!answer.ok) throw new Error(options.detail || 'The passkey sign-in could not start.');
      const credential = await navigator.credentials.get({
        publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options),
      });
      form.elements.credential.value = JSON.stringify(credential.toJSON());
      form.submit();
    } catch (error) {
      status.textContent = error && error.name === 'NotAllowedError'
        ? 'The passkey was not used. Try again, or sign in another way.'
        : (error && error.message) || 'The passkey sign-in failed.';
      button.disabled = false;
      button.focus();
    }
  });
})();
`;
