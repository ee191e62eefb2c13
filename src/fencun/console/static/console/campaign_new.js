// The content lint while the merchant writes: title and body go to the server after a pause.
(function () {
  var form = document.getElementById("campaign-form");
  var out = document.getElementById("lint-live");
  if (!form || !out) return;
  var timer = null, seq = 0;
  function check() {
    var data = new FormData();
    data.append("csrfmiddlewaretoken", form.querySelector("[name=csrfmiddlewaretoken]").value);
    data.append("title", (form.querySelector("[name=title]") || {}).value || "");
    data.append("body", (form.querySelector("[name=body]") || {}).value || "");
    data.append("message_type", (form.querySelector("[name=message_type]") || {}).value || "text");
    var mine = ++seq;
    fetch(form.dataset.lintUrl, {method: "POST", body: data, credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (d) {
        if (mine !== seq || !d.findings) return;
        out.textContent = "";
        var list = document.createElement("ul");
        list.className = "findings";
        d.findings.forEach(function (f) {
          var li = document.createElement("li");
          li.className = f.severity;
          li.textContent = f.label + "：" + f.message + (f.fix ? " — " + f.fix : "");
          list.appendChild(li);
        });
        if (!d.findings.length) out.textContent = out.dataset.none;
        else out.appendChild(list);
      });
  }
  // The audience's size as the segment is typed (the segments page's count).
  var audience = document.getElementById("audience-live");
  var countTimer = null, countSeq = 0;
  function count(text) {
    var mine = ++countSeq;
    if (!text) { audience.textContent = ""; return; }
    fetch(form.dataset.countUrl + "?text=" + encodeURIComponent(text), {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (d) {
        if (mine !== countSeq) return;
        audience.className = d.error ? "error" : "count";
        audience.textContent = d.error ? d.error
          : d.matched + " " + audience.dataset.of + " " + d.subscribed + " " + audience.dataset.followers;
      });
  }
  form.addEventListener("change", function (e) {
    if (e.target.name === "message_type") { clearTimeout(timer); timer = setTimeout(check, 100); }
  });
  form.addEventListener("input", function (e) {
    if (e.target.name === "segment" && audience) {
      clearTimeout(countTimer);
      var text = e.target.value.trim();
      countTimer = setTimeout(function () { count(text); }, 400);
      return;
    }
    if (e.target.name !== "title" && e.target.name !== "body") return;
    clearTimeout(timer);
    timer = setTimeout(check, 500);
  });
})();
