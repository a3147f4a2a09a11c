// Gatehouse demo: progressive enhancement of the home page. Served from
// 'self' (the pages' CSP allows no inline script). Without it the buttons
// still work: they show the raw JSON replies.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  var call = document.getElementById("call-upstream");
  var out = document.getElementById("upstream-result");
  if (call && out) {
    call.addEventListener("click", function (ev) {
      ev.preventDefault();
      out.hidden = false;
      out.textContent = "Calling…";
      fetch(call.getAttribute("href"), { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.json().then(function (j) { return { status: r.status, body: j }; }); })
        .then(function (res) {
          if (res.status !== 200) {
            out.textContent = "Error " + res.status + ": " + JSON.stringify(res.body, null, 2);
            return;
          }
          out.textContent = res.body.method + " " + res.body.url + "\n→ HTTP " + res.body.status + "\n\n" +
            JSON.stringify(res.body.body, null, 2);
        })
        .catch(function (e) { out.textContent = "Request failed: " + e; });
    });
  }

  var form = document.getElementById("token-form");
  var box = document.getElementById("token-result");
  if (form && box) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var csrf = form.querySelector("input[name=csrf_token]").value;
      fetch(form.getAttribute("action"), {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRF-Token": csrf }
      })
        .then(function (r) { return r.json().then(function (j) { return { status: r.status, body: j }; }); })
        .then(function (res) {
          box.hidden = false;
          var tok = document.getElementById("token-value");
          var curl = document.getElementById("token-curl");
          if (res.status !== 200) {
            tok.value = "Error " + res.status + ": " + (res.body.error_description || res.body.error);
            curl.value = "";
            return;
          }
          tok.value = res.body.access_token;
          curl.value = "curl -H 'Authorization: Bearer " + res.body.access_token + "' " + form.dataset.meUrl;
          curl.focus();
          curl.select();
        })
        .catch(function (e) { box.hidden = false; document.getElementById("token-value").value = "Request failed: " + e; });
    });
  }

  // Keep the token facts current: /api/me goes through Require, which
  // refreshes the upstream token shortly before it expires.
  var status = document.getElementById("token-status");
  if (status) {
    var expires = document.getElementById("expires");
    var refreshed = document.getElementById("refreshed");
    var fmt = function (iso) { return iso ? iso.substring(11, 19) + " UTC" : ""; };
    var tick = function () {
      var iso = expires.getAttribute("datetime");
      if (!iso) { return; }
      var s = Math.round((Date.parse(iso) - Date.now()) / 1000);
      expires.textContent = fmt(iso) + (s >= 0 ? " (in " + s + " s)" : " (expired " + (-s) + " s ago)");
    };
    var poll = function () {
      fetch(status.dataset.me, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) {
          if (r.status === 401) { window.location.reload(); return null; }
          return r.json();
        })
        .then(function (me) {
          if (!me) { return; }
          if (me.token_expires_at) { expires.setAttribute("datetime", me.token_expires_at); }
          if (me.token_refreshed_at) {
            refreshed.setAttribute("datetime", me.token_refreshed_at);
            refreshed.textContent = fmt(me.token_refreshed_at);
          }
          tick();
        })
        .catch(function () {});
    };
    setInterval(tick, 1000);
    setInterval(poll, 5000);
  }
});
