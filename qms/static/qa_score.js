/* QA scoring form: the live score. Posts the form to its data-preview-url (same origin, CSRF
   token from the form) whenever an answer changes, and shows the server's wording of the
   result in #live-score and each section's score in [data-section-score]. The page works
   without this script: the score then shows after saving a draft. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-preview-url]");
  if (!form || !window.fetch || !window.FormData) return;
  var output = document.getElementById("live-score");
  var box = output ? output.parentNode : null;
  var timer = null;
  var latest = 0;

  function show(body) {
    if (!output || !body || typeof body.text !== "string") return;
    output.textContent = body.text;
    if (box) box.classList.toggle("failed", !!body.auto_failed);
    var sections = body.sections || {};
    var cells = form.querySelectorAll("[data-section-score]");
    for (var i = 0; i < cells.length; i++) {
      var key = cells[i].getAttribute("data-section-score");
      cells[i].textContent = Object.prototype.hasOwnProperty.call(sections, key) ? sections[key] : "";
    }
  }

  function preview() {
    var mine = ++latest;
    var data = new FormData(form);
    var headers = { "Accept": "application/json" };
    var token = form.querySelector("input[name='csrf_token']");
    if (token) headers["X-CSRFToken"] = token.value;
    fetch(form.getAttribute("data-preview-url"), {
      method: "POST", body: data, credentials: "same-origin", headers: headers
    }).then(function (resp) {
      return resp.json();
    }).then(function (body) {
      if (mine === latest && body && !body.error) show(body);
    }).catch(function () { /* the saved score still shows after saving */ });
  }

  function schedule() {
    if (timer) clearTimeout(timer);
    timer = setTimeout(preview, 250);
  }

  form.addEventListener("change", schedule);
})();
