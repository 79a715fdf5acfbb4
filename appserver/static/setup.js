/*
 * CloudTrail via Firehose setup page. Plain JavaScript, no external resources: it talks to the
 * app's REST endpoints (cloudtrail_firehose/setup/...) through Splunk Web's splunkd proxy with the
 * CSRF form key, and polls long operations (check, preview, deploy, remove) as jobs.
 */
(function () {
  "use strict";

  var FIELDS = [
    {name: "index", label: "Splunk index", group: "splunk", def: "aws_cloudtrail", hint: "Must exist already (Settings > Indexes)."},
    {name: "hec_url", label: "Public HEC URL", group: "splunk", def: "", hint: "https:// and a host name with a publicly trusted certificate, e.g. https://http-inputs-firehose-acme.splunkcloud.com"},
    {name: "aws_auth", label: "AWS access", group: "aws", type: "select", def: "keys", options: [["keys", "Access key"], ["role", "Role to assume"], ["instance", "This server's instance role"]]},
    {name: "aws_access_key_id", label: "Access key ID", group: "aws", def: "", when: "keys"},
    {name: "aws_secret_access_key", label: "Secret access key", group: "aws", type: "password", def: "", when: "keys", hint: "Stored encrypted in Splunk (storage/passwords), never shown again."},
    {name: "aws_role_arn", label: "Role ARN", group: "aws", def: "", when: "role"},
    {name: "aws_external_id", label: "External ID (optional)", group: "aws", def: "", when: "role"},
    {name: "region", label: "AWS region", group: "aws", def: "us-east-1"},
    {name: "filter_preset", label: "Events to send", group: "pipeline", type: "select", def: "all", options: [["all", "All events"], ["write-only", "Write events only"], ["custom", "Custom filter pattern"]]},
    {name: "custom_filter_pattern", label: "Custom filter pattern", group: "pipeline", def: "", whenPreset: "custom"},
    {name: "existing_log_group", label: "Existing trail's log group (optional)", group: "pipeline", def: "", hint: "Leave empty to create a multi-region trail."},
    {name: "name_prefix", label: "Name prefix", group: "advanced", def: "cloudtrail-firehose"},
    {name: "processor", label: "Processing in Firehose", group: "advanced", type: "select", def: "native", options: [["native", "Native decompression (recommended)"], ["lambda", "The app's Lambda processor"]]},
    {name: "multi_region", label: "Multi-region trail", group: "advanced", type: "select", def: "true", options: [["true", "Yes"], ["false", "No"]]},
    {name: "organization_trail", label: "Organization trail", group: "advanced", type: "select", def: "false", options: [["false", "No"], ["true", "Yes (management account)"]]},
    {name: "hec_ack_timeout", label: "Acknowledgement timeout (s)", group: "advanced", type: "number", def: "300", min: 180, max: 600},
    {name: "retry_duration", label: "Retry duration (s)", group: "advanced", type: "number", def: "3600", min: 0, max: 7200},
    {name: "buffer_interval", label: "Buffer interval (s)", group: "advanced", type: "number", def: "60", min: 0, max: 60},
    {name: "buffer_size_mb", label: "Buffer size (MB)", group: "advanced", type: "number", def: "5", min: 1, max: 5},
    {name: "log_retention_days", label: "CloudWatch Logs retention (days)", group: "advanced", type: "number", def: "14"},
    {name: "failed_delivery_retention_days", label: "Keep failed deliveries (days)", group: "advanced", type: "number", def: "90", min: 7, max: 3650},
    {name: "trail_log_retention_days", label: "Keep trail log files (days)", group: "advanced", type: "number", def: "365", min: 1, max: 3650}
  ];
  var GROUPS = [["splunk", "Splunk"], ["aws", "AWS access"], ["pipeline", "What to collect"], ["advanced", "Advanced"]];

  function base() {
    var match = window.location.pathname.match(/^\/([^/]+)\/app\//);
    return "/" + (match ? match[1] : "en-US") + "/splunkd/__raw/services/cloudtrail_firehose/setup";
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

  function build(root) {
    root.textContent = "";
    var form = el("form", {id: "ctf-form", novalidate: "novalidate"});
    GROUPS.forEach(function (group) {
      var set = el("fieldset", {}, [el("legend", {text: group[1]})]);
      FIELDS.filter(function (f) { return f.group === group[0]; }).forEach(function (f) {
        var input;
        if (f.type === "select") {
          input = el("select", {name: f.name, id: "ctf-" + f.name});
          f.options.forEach(function (o) { input.appendChild(el("option", {value: o[0], text: o[1]})); });
        } else {
          input = el("input", {name: f.name, id: "ctf-" + f.name, type: f.type || "text", autocomplete: "off"});
        }
        input.value = f.def;
        var wrap = el("div", {"class": "field", "data-field": f.name}, [el("label", {"for": "ctf-" + f.name, text: f.label}), input,
          el("div", {"class": "field-error", id: "ctf-error-" + f.name})]);
        if (f.hint) { wrap.appendChild(el("p", {"class": "hint", text: f.hint})); }
        set.appendChild(wrap);
        input.addEventListener("input", function () { validateField(f); });
        input.addEventListener("change", function () { validateField(f); toggle(); });
      });
      form.appendChild(set);
    });
    var buttons = el("div", {"class": "buttons"});
    [["save", "Save", ""], ["check", "Check", ""], ["preview", "Preview", ""], ["deploy", "Deploy", "primary"],
     ["status", "Status", ""], ["template", "Download template", ""], ["remove", "Remove", "danger"]].forEach(function (b) {
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

  function toggle() {
    FIELDS.forEach(function (f) {
      var wrap = document.querySelector('[data-field="' + f.name + '"]');
      var hidden = (f.when && f.when !== value("aws_auth")) || (f.whenPreset && f.whenPreset !== value("filter_preset"));
      wrap.classList.toggle("hidden", !!hidden);
    });
  }

  function problemFor(f) {
    var v = value(f.name);
    if (f.name === "hec_url") {
      if (!/^https:\/\//.test(v)) { return "Must start with https:// (Firehose only delivers over TLS)."; }
      var host = v.replace(/^https:\/\//, "").split(/[:/]/)[0];
      if (/^[0-9.]+$/.test(host) || host.indexOf("[") === 0) { return "Use a host name, not an IP address: Firehose needs a publicly trusted certificate."; }
      if (host.indexOf(".") < 0) { return "Use the public host name of your HEC endpoint."; }
    }
    if (f.name === "index" && !/^[a-z0-9_][a-z0-9_-]*$/.test(v)) { return "An index name: lower-case letters, digits, _ and -."; }
    if (f.name === "region" && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(v)) { return "An AWS region such as us-east-1."; }
    if (f.name === "aws_access_key_id" && value("aws_auth") === "keys" && !/^(AKIA|ASIA)[A-Z0-9]{12,}$/.test(v)) { return "Starts with AKIA and has 20 characters."; }
    if (f.name === "aws_role_arn" && value("aws_auth") === "role" && !/^arn:aws[a-z-]*:iam::\d{12}:role\//.test(v)) { return "arn:aws:iam::<account>:role/<name>"; }
    if (f.type === "number" && f.min !== undefined) {
      var n = Number(v);
      if (v === "" || isNaN(n) || n < f.min || n > f.max) { return "Between " + f.min + " and " + f.max + "."; }
    }
    return "";
  }

  function validateField(f) {
    var problem = problemFor(f);
    document.getElementById("ctf-error-" + f.name).textContent = problem;
    document.querySelector('[data-field="' + f.name + '"]').classList.toggle("invalid", !!problem);
    return !problem;
  }

  function validateAll() {
    return FIELDS.filter(function (f) { return !document.querySelector('[data-field="' + f.name + '"]').classList.contains("hidden"); })
      .map(validateField).every(Boolean);
  }

  function values() {
    var out = {};
    FIELDS.forEach(function (f) {
      var v = value(f.name);
      if (f.name === "aws_secret_access_key" && !v) { return; }
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
    return call("POST", "config", values()).then(function () {
      document.getElementById("ctf-aws_secret_access_key").value = "";
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
          show("ok", "Deployed. Firehose stream " + result.outputs.DeliveryStreamName + " delivers to Splunk; failed deliveries go to " + result.outputs.FailedDeliveryBucketName + ".");
        });
      }, function () {});
    },
    status: function () {
      call("GET", "status").then(function (data) { show("info", JSON.stringify(data.status, null, 2)); }, showError);
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

  function load() {
    call("GET", "config").then(function (data) {
      Object.keys(data.config || {}).forEach(function (name) {
        var node = document.getElementById("ctf-" + name);
        if (node) { node.value = data.config[name]; }
      });
      if (data.has_secret) { document.getElementById("ctf-aws_secret_access_key").placeholder = "stored (leave empty to keep)"; }
      toggle();
    }, showError);
  }

  function start() {
    var root = document.getElementById("ctf-setup");
    if (!root) { setTimeout(start, 100); return; }
    build(root);
    load();
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
}());
