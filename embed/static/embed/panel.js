/* Patchbay connect panel: runs inside the host page's iframe, at Patchbay's origin.
 * The session token arrives by postMessage from the framing page, is kept in this closure
 * only (never a URL, cookie or storage) and is sent only to Patchbay's own embed API.
 * A company-signed end-user token (a JWT) arrives the same way and is traded at once for a
 * connect session token (it works only once). */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("patchbay-config").textContent);
  var SELF = window.location.origin;
  var ALLOWED = config.allowedOrigins;
  var POLL_MS = 1500;
  var POLL_LIMIT_MS = 11 * 60 * 1000; // a little past the authorisation request's lifetime

  var token = null;
  var hostOrigin = null; // fixed by the first accepted session message
  var connectors = [];
  var connections = [];
  var WATCH_MS = 500; // how often the panel looks whether the popup is still there
  var pending = null; // the OAuth flow in progress: {authorisationId, connector, started, timer, popup, watch}
  // The flow being handed to its start page: {window, result} (the start page's window,
  // once it says it is ready; initialise's answer, once it arrives).
  var starting = null;
  var START_URL = SELF + "/embed/flow/start";
  var openForm = null; // {element, opener}

  function $(id) {
    return document.getElementById(id);
  }

  // Builds DOM from text only: nothing from the API is ever parsed as HTML.
  function h(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function announce(text, kind) {
    var status = $("status");
    status.className = "status" + (kind ? " " + kind : "");
    status.textContent = text;
  }

  function tell(message) {
    if (hostOrigin) window.parent.postMessage(message, hostOrigin);
  }

  function fail(error, message) {
    announce(message, "error");
    tell({ type: "patchbay:error", error: error, message: message });
  }

  // --- The framing page ------------------------------------------------------------

  function framed() {
    return window.parent !== window;
  }

  function sayReady() {
    if (!framed()) {
      $("waiting").textContent = "This panel is shown inside the site that offers it.";
      return;
    }
    // Chrome and Safari name the framing origin; elsewhere try each allowed origin
    // (postMessage drops a message whose target origin does not match).
    var ancestors = window.location.ancestorOrigins;
    var targets = ancestors && ancestors.length ? [ancestors[0]] : ALLOWED;
    targets.forEach(function (origin) {
      if (ALLOWED.indexOf(origin) !== -1) {
        window.parent.postMessage({ type: "patchbay:ready" }, origin);
      }
    });
  }

  function onMessage(event) {
    var data = event.data;
    if (!data || typeof data !== "object") return;
    if (data.type === "patchbay:session") {
      // Only the page framing us, and only from an origin the hub allows.
      if (!framed() || event.source !== window.parent) return;
      if (ALLOWED.indexOf(event.origin) === -1) return;
      if (hostOrigin && event.origin !== hostOrigin) return;
      if (typeof data.token !== "string" || !data.token || data.token.length > 8192) return;
      hostOrigin = event.origin;
      start(data.token);
    } else if (data.type === "patchbay:flow-ready") {
      // Patchbay's start page, in the window this panel opened for its flow: hand it the
      // flow's one-time secret (never put in a URL), once, to that window only.
      if (event.origin !== SELF || !event.source || !starting) return;
      starting.window = event.source;
      handOver();
    } else if (data.type === "patchbay:oauth-result") {
      // The callback page in our popup: Patchbay's own origin, about the flow we started.
      if (event.origin !== SELF || !pending) return;
      if (data.authorisationId !== pending.authorisationId) return;
      // Confirm with the server rather than trust the message's status.
      clearTimeout(pending.timer);
      poll();
    }
  }

  function reportSize() {
    tell({ type: "patchbay:resize", height: document.documentElement.getBoundingClientRect().height });
  }

  // --- The embed API -------------------------------------------------------------------

  function api(method, path, body) {
    var init = {
      method: method,
      headers: { Authorization: "Bearer " + token, Accept: "application/json" },
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer",
    };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(config.api + path, init).then(function (response) {
      if (response.status === 204) return null;
      return response
        .json()
        .catch(function () {
          return {};
        })
        .then(function (data) {
          if (response.ok) return data;
          var error = new Error(data.message || "Something went wrong. Please try again.");
          error.status = response.status;
          error.code = data.code || "http_" + response.status;
          throw error;
        });
    });
  }

  function apiFailed(error) {
    if (error.status === 401) {
      token = null;
      setBusy(true);
      fail("session_expired", "Your session has expired. Reload the page to continue.");
    } else {
      fail(error.code || "network_error", error.status ? error.message : "Patchbay could not be reached. Please try again.");
    }
  }

  function setBusy(busy) {
    var buttons = document.querySelectorAll("#app button");
    for (var i = 0; i < buttons.length; i++) buttons[i].disabled = busy;
  }

  function companySigned(value) {
    return value.slice(0, 4) !== "pbs_" && value.split(".").length === 3;
  }

  function start(given) {
    token = given;
    if (!companySigned(given)) {
      load();
      return;
    }
    api("POST", "/session")
      .then(function (session) {
        token = session.token;
        load();
      })
      .catch(function (error) {
        if (error.status !== 401) return apiFailed(error);
        // Refused (replayed, expired, wrong hub…): the host page hears why.
        token = null;
        setBusy(true);
        fail(error.code, error.message);
      });
  }

  function load() {
    $("app").setAttribute("aria-busy", "true");
    return Promise.all([api("GET", "/connectors"), api("GET", "/connections")])
      .then(function (results) {
        connectors = results[0].items || [];
        connections = results[1].items || [];
        $("waiting").hidden = true;
        render();
        $("app").setAttribute("aria-busy", "false");
        reportSize();
      })
      .catch(apiFailed);
  }

  function reloadConnections(focusId) {
    return api("GET", "/connections").then(function (data) {
      connections = data.items || [];
      renderConnections();
      var target = focusId && $("connection-" + focusId);
      (target || $("connections-heading")).focus();
    });
  }

  // --- Rendering ----------------------------------------------------------------------

  function connectorOf(connection) {
    for (var i = 0; i < connectors.length; i++) {
      if (connectors[i].id === connection.connectorId) return connectors[i];
    }
    return null;
  }

  function render() {
    openForm = null;
    renderConnections();
    var offered = $("connectors");
    offered.textContent = "";
    connectors.forEach(function (connector) {
      offered.appendChild(connectorItem(connector));
    });
    $("connectors-section").hidden = connectors.length === 0;
    setBusy(!token);
  }

  // Re-rendering the list drops a form open in it, but not one under "Connect an account".
  function renderConnections() {
    var list = $("connections");
    if (openForm && list.contains(openForm.element)) openForm = null;
    list.textContent = "";
    connections.forEach(function (connection) {
      list.appendChild(connectionItem(connection));
    });
    $("no-connections").hidden = connections.length > 0;
    $("connections-section").hidden = false;
    var buttons = list.querySelectorAll("button");
    for (var i = 0; i < buttons.length; i++) buttons[i].disabled = !token;
  }

  function connectorItem(connector) {
    var id = "connector-" + connector.id;
    var button = h("button", {
      type: "button",
      class: "primary",
      text: "Connect",
      "aria-describedby": id + "-name",
    });
    var item = h("li", { class: "item", id: id }, [
      h("div", { class: "row" }, [
        h("div", { class: "name" }, [h("strong", { id: id + "-name", text: connector.name })]),
        h("div", { class: "actions" }, [button]),
      ]),
    ]);
    button.addEventListener("click", function () {
      begin(connector, null, button, item);
    });
    return item;
  }

  function connectionItem(connection) {
    var id = "connection-" + connection.id;
    var connector = connectorOf(connection);
    var healthy = connection.status === "active";
    var name = connection.name || connection.connectorName;
    var label = h("strong", { id: id + "-name", text: name });
    var reconnect = h("button", { type: "button", text: "Reconnect", "aria-describedby": id + "-name" });
    var disconnect = h("button", { type: "button", class: "danger", text: "Disconnect", "aria-describedby": id + "-name" });
    var actions = h("div", { class: "actions" }, connector ? [reconnect, disconnect] : [disconnect]);
    var item = h("li", { class: "item", id: id, tabindex: "-1" }, [
      h("div", { class: "row" }, [
        h("div", { class: "name" }, [
          label,
          connection.connectorName && connection.connectorName !== name
            ? h("span", { class: "muted small", text: connection.connectorName + " " })
            : null,
          h("span", {
            class: healthy ? "badge" : "badge warn",
            text: healthy ? "Connected" : connection.status === "needs_reauth" ? "Needs reconnecting" : String(connection.status),
          }),
        ]),
        actions,
      ]),
    ]);
    reconnect.addEventListener("click", function () {
      begin(connector, connection, reconnect, item);
    });
    disconnect.addEventListener("click", function () {
      confirmDisconnect(connection, actions, disconnect);
    });
    return item;
  }

  function confirmDisconnect(connection, actions, opener) {
    var name = connection.name || connection.connectorName;
    var yes = h("button", { type: "button", class: "danger", text: "Yes, disconnect" });
    var no = h("button", { type: "button", text: "Keep" });
    var question = h("p", { class: "hint", text: "Disconnect " + name + "?" });
    var saved = Array.prototype.slice.call(actions.childNodes);
    actions.textContent = "";
    actions.appendChild(question);
    actions.appendChild(yes);
    actions.appendChild(no);
    yes.focus();
    no.addEventListener("click", function () {
      actions.textContent = "";
      saved.forEach(function (node) {
        actions.appendChild(node);
      });
      opener.focus();
    });
    yes.addEventListener("click", function () {
      yes.disabled = no.disabled = true;
      api("DELETE", "/connections/" + encodeURIComponent(connection.id))
        .then(function () {
          announce("Disconnected " + name + ".", "ok");
          return reloadConnections(null);
        })
        .catch(function (error) {
          apiFailed(error);
          yes.disabled = no.disabled = false;
        });
    });
  }

  // --- Connecting ---------------------------------------------------------------------

  function begin(connector, connection, button, item) {
    if (!connector || !token) return;
    if (connector.type === "oauth2") startOAuth(connector, connection, button);
    else showForm(connector, connection, button, item);
  }

  function closeForm(returnFocus) {
    if (!openForm) return;
    var form = openForm;
    openForm = null;
    form.element.parentNode.removeChild(form.element);
    form.opener.setAttribute("aria-expanded", "false");
    if (returnFocus) form.opener.focus();
  }

  function field(id, label, type, autocomplete) {
    var input = h("input", { id: id, name: id, type: type, required: true, autocomplete: autocomplete, spellcheck: "false", autocapitalize: "off" });
    return { input: input, label: h("label", { for: id }, [label, input]) };
  }

  function showForm(connector, connection, button, item) {
    var reopening = openForm && openForm.opener === button;
    closeForm(false);
    if (reopening) {
      button.focus();
      return;
    }
    var formId = "form-" + (connection ? connection.id : connector.id);
    var inputs = [];
    if (connector.type === "basic-auth") {
      inputs.push(field(formId + "-username", "Username", "text", "off"));
      inputs.push(field(formId + "-password", "Password", "password", "new-password"));
    } else {
      inputs.push(field(formId + "-key", connector.name + " API key", "password", "off"));
    }
    var submit = h("button", { type: "submit", class: "primary", text: connection ? "Save" : "Connect" });
    var cancel = h("button", { type: "button", text: "Cancel" });
    var form = h("form", { id: formId, novalidate: true, "aria-label": (connection ? "Reconnect " : "Connect ") + connector.name }, inputs.map(function (f) {
      return f.label;
    }).concat([h("div", { class: "actions" }, [submit, cancel])]));
    cancel.addEventListener("click", function () {
      closeForm(true);
    });
    form.addEventListener("keydown", function (event) {
      if (event.key === "Escape") closeForm(true);
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var values = inputs.map(function (f) {
        return f.input.value;
      });
      for (var i = 0; i < inputs.length; i++) {
        if (!values[i].trim()) {
          inputs[i].input.setAttribute("aria-invalid", "true");
          inputs[i].input.focus();
          announce("Please fill in " + inputs[i].label.firstChild.textContent + ".", "error");
          return;
        }
        inputs[i].input.removeAttribute("aria-invalid");
      }
      var secret = connector.type === "basic-auth" ? { basicAuth: { username: values[0], password: values[1] } } : { apiKey: values[0] };
      // Checked upstream before anything is stored: a wrong key is refused at once (400).
      if (connector.verifies) secret.verify = true;
      var request;
      if (connection) {
        request = api("PATCH", "/connections/" + encodeURIComponent(connection.id), secret);
      } else {
        secret.connectorId = connector.id;
        if (connector.authSchemeConfigId) secret.authSchemeConfigId = connector.authSchemeConfigId;
        request = api("POST", "/connections", secret);
      }
      submit.disabled = cancel.disabled = true;
      announce("Connecting " + connector.name + "…");
      request
        .then(function (created) {
          closeForm(false);
          connected(connector, connection ? connection.id : created.id);
        })
        .catch(function (error) {
          submit.disabled = cancel.disabled = false;
          if (error.status === 400 || error.status === 422) {
            if (error.code === "credential_invalid") {
              inputs.forEach(function (f) {
                f.input.setAttribute("aria-invalid", "true");
              });
            }
            announce(error.message, "error");
            inputs[0].input.focus();
          } else {
            apiFailed(error);
          }
        });
    });
    item.appendChild(form);
    button.setAttribute("aria-expanded", "true");
    button.setAttribute("aria-controls", formId);
    openForm = { element: form, opener: button };
    inputs[0].input.focus();
  }

  // The flow is over (or given up): stop watching its popup and close it if the handle
  // still reaches it (a provider page's Cross-Origin-Opener-Policy may have cut it; the
  // callback page then closes itself).
  function settle(flow) {
    if (!flow) return;
    clearTimeout(flow.timer);
    clearInterval(flow.watch);
    if (flow.popup && !flow.popup.closed) flow.popup.close();
    if (pending === flow) pending = null;
  }

  // A closed popup (or one whose handle a provider page cut) is noticed within WATCH_MS.
  // The two look alike from here, so the panel keeps polling (a severed window may still
  // finish) and offers to start again.
  function watchPopup(flow, connection, button) {
    flow.watch = setInterval(function () {
      if (pending !== flow) return clearInterval(flow.watch);
      if (!flow.popup || !flow.popup.closed) return;
      clearInterval(flow.watch);
      announce("Waiting for " + flow.connector.name + "… If you closed its window, ");
      var again = h("button", {
        type: "button",
        class: "link",
        text: "start again",
        onclick: function () {
          settle(flow);
          startOAuth(flow.connector, connection, button);
        },
      });
      $("status").appendChild(again);
      $("status").appendChild(document.createTextNode("."));
    }, WATCH_MS);
  }

  function connected(connector, connectionId) {
    pending = null;
    announce("Connected " + connector.name + ".", "ok");
    // Tell the host once the list shows the connection, so the page and panel agree.
    reloadConnections(connectionId)
      .catch(apiFailed)
      .then(function () {
        tell({ type: "patchbay:connected", connectionId: connectionId });
      });
  }

  // Both halves are there (the start page is ready, initialise answered): post the flow
  // to that window at Patchbay's origin; its page binds this browser, then goes on.
  function handOver() {
    if (!starting || !starting.window || !starting.result) return;
    var result = starting.result;
    starting.window.postMessage(
      { type: "patchbay:flow-start", authorisationId: result.authorisationId, secret: result.browserSecret, url: result.url },
      SELF
    );
    starting = null;
  }

  function startOAuth(connector, connection, button) {
    settle(pending);
    // Open the window now, inside the click, or popup blockers refuse it: Patchbay's start
    // page, same origin as this panel, which takes the flow's secret from this panel only
    // and binds the flow to this browser before it goes on to the provider.
    starting = { window: null, result: null };
    var popup = window.open(START_URL, "patchbay_oauth", "popup=yes,width=520,height=720");
    var oauth2 = connector.oauth2 || {};
    var body = {
      authorizeUrl: oauth2.authorizeUrl,
      clientId: oauth2.clientId,
      credential: oauth2.credential,
    };
    // The config the list offered: a connector may have several oauth2 configs.
    if (connector.authSchemeConfigId) body.authSchemeConfigId = connector.authSchemeConfigId;
    if (oauth2.scopes && oauth2.scopes.length) body.scopes = oauth2.scopes;
    if (connection) body.connectionId = connection.id;
    button.disabled = true;
    announce("Opening " + connector.name + " in a new window…");
    api("POST", "/connector/" + encodeURIComponent(connector.id) + "/oauth2/initialise", body)
      .then(function (result) {
        button.disabled = false;
        pending = { authorisationId: result.authorisationId, connector: connector, started: Date.now(), timer: null, popup: popup, watch: null };
        if (starting) {
          starting.result = result;
          handOver();
        }
        if (popup && !popup.closed) {
          announce("Finish connecting " + connector.name + " in the window that opened.");
          watchPopup(pending, connection, button);
        } else {
          // Blocked: a link is a fresh click, which popup blockers let through. A named
          // target (not _blank) keeps this panel as the tab's opener, for the hand-over.
          var link = h("a", { href: START_URL, target: "patchbay_oauth", text: "Continue to " + connector.name });
          var status = $("status");
          announce("Your browser blocked the window. ");
          status.appendChild(link);
          link.focus();
        }
        pending.timer = setTimeout(poll, POLL_MS);
      })
      .catch(function (error) {
        button.disabled = false;
        starting = null;
        if (popup && !popup.closed) popup.close();
        apiFailed(error);
      });
  }

  function poll() {
    var flow = pending;
    if (!flow) return;
    api("GET", "/authorisations/" + encodeURIComponent(flow.authorisationId))
      .then(function (result) {
        if (pending !== flow) return;
        if (result.status === "succeeded") {
          settle(flow);
          connected(flow.connector, result.connectionId);
        } else if (result.status === "failed") {
          settle(flow);
          var error = result.error || {};
          var code = typeof error === "string" ? error : error.code || "authorisation_failed";
          var cancelled = code === "access_denied" || code === "cancelled";
          fail(code, cancelled ? "Connecting " + flow.connector.name + " was cancelled." : "Connecting " + flow.connector.name + " failed. Please try again.");
        } else if (Date.now() - flow.started > POLL_LIMIT_MS) {
          settle(flow);
          fail("authorisation_expired", "Connecting " + flow.connector.name + " took too long. Please try again.");
        } else {
          flow.timer = setTimeout(poll, POLL_MS);
        }
      })
      .catch(function (error) {
        if (pending !== flow) return;
        if (error.status === 401 || error.status === 404) {
          settle(flow);
          apiFailed(error);
        } else {
          flow.timer = setTimeout(poll, POLL_MS * 2); // a blip: keep waiting
        }
      });
  }

  window.addEventListener("message", onMessage);
  if (window.ResizeObserver) new ResizeObserver(reportSize).observe(document.documentElement);
  sayReady();
})();
