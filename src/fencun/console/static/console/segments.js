// Count-as-you-type for the segment filter: ask the server after a pause in typing.
(function () {
  var input = document.getElementById("seg-text");
  var out = document.getElementById("seg-live");
  if (!input || !out) return;
  var timer = null, seq = 0;
  function show(cls, text) {
    out.textContent = "";
    var span = document.createElement("span");
    span.className = cls;
    span.textContent = text;
    out.appendChild(span);
  }
  input.addEventListener("input", function () {
    clearTimeout(timer);
    var text = input.value.trim();
    if (!text) { out.textContent = ""; return; }
    timer = setTimeout(function () {
      var mine = ++seq;
      fetch(input.dataset.countUrl + "?text=" + encodeURIComponent(text), {credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (d) {
          if (mine !== seq) return;  // a newer request is on its way
          if (d.error) show("error", d.error);
          else show("count", d.matched + " " + out.dataset.of + " " + d.subscribed + " " + out.dataset.followers);
        });
    }, 400);
  });
})();
