/*
 * CloudTrail via Firehose setup page. Plain JavaScript, no external resources: it talks to the
 * app's REST endpoints (cloudtrail_firehose/setup/...) through Splunk Web's splunkd proxy with the
 * CSRF form key, and polls long operations (check, preview, deploy, remove) as jobs.
 */
(function () {
  "use strict";

  // The form is rendered and checked from the app's settings schema (GET schema), never from a list here.
  var SCHEMA = {groups: [], settings: []};
  var storedSecrets = {};  // name -> true for each secret setting stored in storage/passwords

  // Splunk Web serves under web.conf root_endpoint (e.g. /splunk behind a reverse proxy) and the user's
  // locale, so no fixed prefix: its own make_url adds both ($C MRSPARKLE_ROOT_PATH and LOCALE); without
  // it, the same prefix is everything before /app/ in this page's path (<root>/<locale>/app/<app>/setup).
  function base() {
    var path = "/splunkd/__raw/services/cloudtrail_firehose/setup";
    var util = window.Splunk && window.Splunk.util;
    if (util && typeof util.make_url === "function") { return util.make_url(path); }
    var page = window.location.pathname, at = page.lastIndexOf("/app/");
    return (at >= 0 ? page.slice(0, at) : "/en-US") + path;
  }

  function formKey() {
    var cookies = document.cookie.split(";");
    for (var i = 0; i < cookies.length; i++) {
      var pair = cookies[i].trim().split("=");
      if (pair[0].indexOf("splunkweb_csrf_token_") === 0) { return decodeURIComponent(pair[1]); }
    }
    return "";
  }

  function call(method, path, body) {
    var options = {method: method, credentials: "same-origin",
                   headers: {"X-Splunk-Form-Key": formKey(), "X-Requested-With": "XMLHttpRequest"}};
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(base() + "/" + path, options).then(function (response) {
      return response.text().then(function (text) {
        var data;
        try { data = text ? JSON.parse(text) : {}; } catch (e) { data = {error: "unexpected answer: " + text.slice(0, 200)}; }
        if (data && data.entry && data.entry[0] && data.entry[0].content) { data = data.entry[0].content; }
        if (!response.ok) { data.status = response.status; throw data; }
        return data;
      });
    }, function () { throw {error: "cannot reach Splunk", what_to_do: "check that Splunk Web is running and retry"}; });
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") { node.textContent = attrs[key]; } else { node.setAttribute(key, attrs[key]); }
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }

  function text(v) { return v === true ? "true" : (v === false ? "false" : (v === null || v === undefined ? "" : String(v))); }

  function input(f) {
    var node;
    if (f.choices.length) {
      node = el("select", {name: f.name, id: "ctf-" + f.name});
      f.choices.forEach(function (c) { node.appendChild(el("option", {value: text(c[0]), text: c[1]})); });
    } else {
      var type = f.secret ? "password" : (f.kind === "integer" ? "number" : "text");
      node = el("input", {name: f.name, id: "ctf-" + f.name, type: type, autocomplete: "off"});
      if (f.minimum !== null) { node.setAttribute("min", f.minimum); node.setAttribute("max", f.maximum); }
      if (f.kind === "string") { node.setAttribute("maxlength", f.max_length); }
    }
    node.value = text(f["default"]);
    return node;
  }

  // when: [setting, value] or [setting, [values]], or a list of such pairs that must all hold, as is_shown in
  // settings.py reads it.
  function shown(f) {
    if (!f.shown) { return false; }
    if (!f.when) { return true; }
    var conditions = Array.isArray(f.when[0]) ? f.when : [f.when];
    return conditions.every(function (c) {
      var wanted = Array.isArray(c[1]) ? c[1] : [c[1]];
      return wanted.map(text).indexOf(value(c[0])) >= 0;
    });
  }

  function build(root) {
    root.textContent = "";
    var form = el("form", {id: "ctf-form", novalidate: "novalidate"});
    SCHEMA.groups.forEach(function (group) {
      var set = el("fieldset", {}, [el("legend", {text: group.label})]);
      SCHEMA.settings.filter(function (f) { return f.group === group.name && f.shown; }).forEach(function (f) {
        var node = input(f);
        var wrap = el("div", {"class": "field", "data-field": f.name}, [el("label", {"for": "ctf-" + f.name, text: f.label}), node,
          el("div", {"class": "field-error", id: "ctf-error-" + f.name})]);
        if (f.help) { wrap.appendChild(el("p", {"class": "hint", text: f.help})); }
        set.appendChild(wrap);
        node.addEventListener("input", function () { validateField(f); });
        node.addEventListener("change", function () { validateField(f); toggle(); });
      });
      form.appendChild(set);
    });
    var buttons = el("div", {"class": "buttons"});
    [["save", "Save", ""], ["check", "Check", ""], ["preview", "Preview", ""], ["deploy", "Deploy", "primary"],
     ["status", "Status", ""], ["drift", "Detect drift", ""], ["template", "Download template", ""], ["remove", "Remove", "danger"]].forEach(function (b) {
      var button = el("button", {type: "button", id: "ctf-" + b[0], "class": b[2], text: b[1]});
      button.addEventListener("click", function () { ACTIONS[b[0]](); });
      buttons.appendChild(button);
    });
    root.appendChild(form);
    root.appendChild(el("label", {}, [el("input", {type: "checkbox", id: "ctf-rotate"}), document.createTextNode(" Rotate the HEC token on deploy")]));
    root.appendChild(el("label", {}, [el("input", {type: "checkbox", id: "ctf-delete-data"}), document.createTextNode(" Remove also deletes the S3 buckets and their data")]));
    root.appendChild(buttons);
    root.appendChild(el("div", {id: "ctf-message", "class": "message hidden"}));
    root.appendChild(el("ul", {id: "ctf-checks", "class": "checks"}));
    root.appendChild(el("pre", {id: "ctf-log", "class": "log hidden"}));
    toggle();
  }

  function value(name) { var node = document.getElementById("ctf-" + name); return node ? node.value.trim() : ""; }

  function formFields() { return SCHEMA.settings.filter(function (f) { return f.shown; }); }

  function toggle() {
    formFields().forEach(function (f) {
      document.querySelector('[data-field="' + f.name + '"]').classList.toggle("hidden", !shown(f));
    });
  }

  // The same rules, in the same order, as value_problems and problems in settings.py.
  function problemFor(f) {
    var v = value(f.name), i;
    if (!v && f.kind === "integer") { return "Give a whole number"; }
    if (!v) { return f.required && shown(f) && !(f.secret && storedSecrets[f.name]) ? f.required : ""; }
    if (v.length > f.max_length) { return "At most " + f.max_length + " characters"; }
    for (i = 0; i < f.refuse.length; i++) {
      if (new RegExp(f.refuse[i][0]).test(v)) { return "This " + f.refuse[i][1]; }
    }
    if (f.choices.length && !f.choices.some(function (c) { return text(c[0]) === v; })) { return "Choose one of the choices"; }
    if (f.kind === "integer") {
      if (!/^-?[0-9]{1,12}$/.test(v)) { return "Give a whole number"; }
      if (f.minimum !== null && (Number(v) < f.minimum || Number(v) > f.maximum)) { return "Between " + f.minimum + " and " + f.maximum; }
    }
    if (f.pattern && !new RegExp("^(?:" + f.pattern + ")$").test(v)) { return "This " + f.pattern_help; }
    return "";
  }

  function validateField(f) {
    var problem = problemFor(f);
    document.getElementById("ctf-error-" + f.name).textContent = problem ? problem.charAt(0).toUpperCase() + problem.slice(1) + "." : "";
    document.querySelector('[data-field="' + f.name + '"]').classList.toggle("invalid", !!problem);
    return !problem;
  }

  function validateAll() {
    return formFields().filter(shown).map(validateField).every(Boolean);
  }

  function values() {
    var out = {};
    formFields().filter(shown).forEach(function (f) {
      var v = value(f.name);
      if (f.secret && !v) { return; }
      out[f.name] = v;
    });
    return out;
  }

  function show(kind, text) {
    var box = document.getElementById("ctf-message");
    box.className = "message " + kind;
    box.textContent = text;
  }

  function showError(data) {
    var text = data.error || "Something failed.";
    if (data.problems) { text += ":\n- " + data.problems.join("\n- "); }
    if (data.what_to_do) { text += "\nWhat to do: " + data.what_to_do; }
    show("error", text);
  }

  function busy(on) {
    Array.prototype.forEach.call(document.querySelectorAll("#ctf-setup .buttons button"), function (b) { b.disabled = on; });
  }

  function runJob(kind, body, done) {
    busy(true);
    var log = document.getElementById("ctf-log");
    log.textContent = "";
    log.classList.remove("hidden");
    document.getElementById("ctf-checks").textContent = "";
    show("info", kind.charAt(0).toUpperCase() + kind.slice(1) + " running...");
    call("POST", kind, body || {}).then(function (answer) {
      var job = answer.job, next = 0;
      function poll() {
        call("GET", "jobs/" + job.id + "?since=" + next).then(function (state) {
          state.progress.forEach(function (line) { log.textContent += line + "\n"; });
          log.scrollTop = log.scrollHeight;
          next = state.next;
          if (state.state === "running") { setTimeout(poll, 1000); return; }
          busy(false);
          if (state.state === "failed") { show("error", kind + " failed: " + state.error); return; }
          done(state.result);
        }, function (error) { busy(false); showError(error); });
      }
      poll();
    }, function (error) { busy(false); showError(error); });
  }

  function save() {
    if (!validateAll()) { show("error", "Some fields need attention (marked in red)."); return Promise.reject(); }
    return call("POST", "config", values()).then(function (answer) {
      remember(answer.secrets);
      return true;
    }, function (error) { showError(error); throw error; });
  }

  var ACTIONS = {
    save: function () { save().then(function () { show("ok", "Saved."); }, function () {}); },
    check: function () {
      save().then(function () {
        runJob("check", {}, function (checks) {
          var list = document.getElementById("ctf-checks");
          checks.forEach(function (c) {
            var state = c.ok === true ? "ok" : (c.ok === false ? "failed" : "warning");
            list.appendChild(el("li", {"class": state, text: c.name + ": " + c.detail}));
          });
          var failed = checks.filter(function (c) { return c.ok === false; }).length;
          show(failed ? "error" : "ok", failed ? failed + " check(s) failed: fix them before deploying." : "All checks passed: ready to preview and deploy.");
        });
      }, function () {});
    },
    preview: function () {
      save().then(function () { runJob("preview", {}, function (plan) { show("ok", plan.text); }); }, function () {});
    },
    deploy: function () {
      save().then(function () {
        runJob("deploy", {rotate_token: document.getElementById("ctf-rotate").checked}, function (result) {
          var streams = Object.keys(result.streams).map(function (label) { return label + " through " + result.streams[label]; });
          show("ok", "Deployed. Firehose delivers " + streams.join(", ") + " to Splunk; failed deliveries go to " + result.outputs.FailedDeliveryBucketName + ".");
        });
      }, function () {});
    },
    status: function () {
      call("GET", "status").then(function (data) { show("info", JSON.stringify(data.status, null, 2)); }, showError);
    },
    drift: function () {
      runJob("drift", {}, function (result) { show("info", JSON.stringify(result.status, null, 2)); });
    },
    template: function () {
      call("GET", "template").then(function (data) {
        var link = el("a", {href: "data:text/yaml;charset=utf-8," + encodeURIComponent(data.template), download: "cloudtrail_firehose.template.yaml"});
        document.body.appendChild(link);
        link.click();
        link.remove();
        show("info", "Template downloaded. Parameters:\n" + JSON.stringify(data.parameters, null, 2));
      }, showError);
    },
    remove: function () {
      var deleteData = document.getElementById("ctf-delete-data").checked;
      if (!window.confirm("Remove the AWS side" + (deleteData ? " and delete its S3 buckets and data" : "") + "?")) { return; }
      runJob("remove", {delete_data: deleteData}, function (result) {
        show("ok", "Removed." + (result.kept_buckets.length ? " Kept buckets: " + result.kept_buckets.join(", ") : ""));
      });
    }
  };

  // Secret fields are emptied once saved; a stored one may stay empty (the stored value is kept).
  function remember(names) {
    storedSecrets = {};
    (names || []).forEach(function (name) { storedSecrets[name] = true; });
    SCHEMA.settings.filter(function (f) { return f.secret && f.shown; }).forEach(function (f) {
      var node = document.getElementById("ctf-" + f.name);
      node.value = "";
      node.placeholder = storedSecrets[f.name] ? "stored (leave empty to keep)" : "";
    });
  }

  function load() {
    call("GET", "config").then(function (data) {
      Object.keys(data.config || {}).forEach(function (name) {
        var node = document.getElementById("ctf-" + name);
        if (node) { node.value = data.config[name]; }
      });
      remember(data.secrets);
      toggle();
    }, showError);
  }

  function start() {
    var root = document.getElementById("ctf-setup");
    if (!root) { setTimeout(start, 100); return; }
    call("GET", "schema").then(function (data) { SCHEMA = data; build(root); load(); }, function (error) {
      root.textContent = "";
      root.appendChild(el("div", {"class": "message error", text: "Cannot load the setup form: " + (error.error || "no answer") + (error.what_to_do ? "\nWhat to do: " + error.what_to_do : "")}));
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
}());
