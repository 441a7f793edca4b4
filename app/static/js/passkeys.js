// Passkeys on the account page (add) and the sign-in code page (use instead of the code).
// The WebAuthn calls are @simplewebauthn/browser's (vendored); the server checks everything
// (app/auth/passkeys.py). Messages come translated from data-* attributes of the page.
(function () {
  "use strict";

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["x-csrftoken"] || "";
    } catch (e) {
      return "";
    }
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Accept": "application/json", "Content-Type": "application/json", "x-csrftoken": csrfToken()},
      body: JSON.stringify(body === undefined ? {} : body),
    });
    let data = {};
    try {
      data = await response.json();
    } catch (e) {
      data = {};
    }
    return {ok: response.ok, status: response.status, data: data};
  }

  function say(box, text) {
    box.querySelector("[data-passkey-message]").textContent = text;
    box.querySelector("[data-passkey-message]").hidden = !text;
  }

  // The browser's refusals: cancelled or timed out, already registered, or anything else.
  function browserMessage(box, error) {
    if (error && error.name === "NotAllowedError") return box.dataset.msgCancelled;
    if (error && error.name === "InvalidStateError") return box.dataset.msgDuplicate;
    return box.dataset.msgFailed;
  }

  function serverMessage(box, result) {
    const detail = result.data && result.data.detail;
    return typeof detail === "string" && detail ? detail : box.dataset.msgFailed;
  }

  function supported(box) {
    if (window.PublicKeyCredential && window.SimpleWebAuthnBrowser) return true;
    say(box, box.dataset.msgUnsupported);
    box.querySelectorAll("button, input").forEach(function (el) { el.disabled = true; });
    return false;
  }

  function busy(button, on) {
    button.disabled = on;
    button.setAttribute("aria-busy", on ? "true" : "false");
  }

  const add = document.getElementById("passkey-add");
  if (add && supported(add)) {
    add.addEventListener("submit", async function (event) {
      event.preventDefault();
      const button = add.querySelector("button[type=submit]");
      busy(button, true);
      say(add, "");
      try {
        const options = await post("/account/passkeys/options");
        if (!options.ok) return say(add, serverMessage(add, options));
        let credential;
        try {
          credential = await SimpleWebAuthnBrowser.startRegistration({optionsJSON: options.data});
        } catch (error) {
          return say(add, browserMessage(add, error));
        }
        const name = add.querySelector("input[name=name]").value;
        const saved = await post("/account/passkeys", {name: name, credential: credential});
        if (!saved.ok) return say(add, serverMessage(add, saved));
        window.location.assign("/account?passkey=added#passkeys");
      } catch (error) {
        say(add, add.dataset.msgFailed);
      } finally {
        busy(button, false);
      }
    });
  }

  const use = document.getElementById("passkey-signin");
  if (use && supported(use)) {
    const button = use.querySelector("button");
    button.addEventListener("click", async function () {
      busy(button, true);
      say(use, "");
      try {
        const options = await post("/login/passkey/options");
        if (!options.ok) {
          if (options.data && options.data.redirect) return window.location.assign(options.data.redirect);
          return say(use, serverMessage(use, options));
        }
        let credential;
        try {
          credential = await SimpleWebAuthnBrowser.startAuthentication({optionsJSON: options.data});
        } catch (error) {
          return say(use, browserMessage(use, error));
        }
        const checked = await post("/login/passkey", credential);
        if (checked.ok || (checked.data && checked.data.redirect)) return window.location.assign(checked.data.redirect);
        say(use, serverMessage(use, checked));
      } catch (error) {
        say(use, use.dataset.msgFailed);
      } finally {
        busy(button, false);
      }
    });
  }
})();
