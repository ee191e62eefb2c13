(function () {
  var d = JSON.parse(document.getElementById("chart-data").textContent);
  if (!d || !window.echarts) return;
  function chart(id, opt) {
    var el = document.getElementById(id);
    // The title wraps instead of being cut off; each series is named in the legend, in
    // the page's language (the template gives the names, "|"-separated).
    opt.title = {text: el.dataset.title, textStyle: {fontSize: 13, width: el.clientWidth - 16, overflow: "break"}};
    var names = (el.dataset.series || "").split("|").filter(Boolean);
    if (names.length) {
      names.forEach(function (name, i) { if (opt.series[i]) opt.series[i].name = name; });
      opt.legend = {data: names, bottom: 0};
      opt.grid.bottom = 50;
    }
    opt.grid.top = 56;
    opt.animation = false;
    var c = echarts.init(el); c.setOption(opt);
    window.addEventListener("resize", function () { c.resize(); });
  }
  chart("c-growth", {grid: {top: 40, left: 40, right: 40, bottom: 30}, tooltip: {trigger: "axis"},
    xAxis: {type: "category", data: d.days}, yAxis: [{type: "value"}, {type: "value"}],
    series: [{type: "bar", data: d.net}, {type: "line", yAxisIndex: 1, data: d.unfollow_rate}]});
  chart("c-sent", {grid: {top: 40, left: 50, right: 20, bottom: 30}, tooltip: {trigger: "axis"},
    xAxis: {type: "category", data: d.days}, yAxis: {type: "value"},
    series: [{type: "bar", stack: "a", data: d.sent}, {type: "bar", stack: "a", data: d.held_back}]});
  if (document.getElementById("c-lift")) {
    chart("c-lift", {grid: {top: 40, left: 60, right: 20, bottom: 30}, tooltip: {},
      xAxis: {type: "category", data: d.lift_groups}, yAxis: {type: "value"},
      series: [{type: "bar", data: d.lift_revenue, label: {show: true, position: "top"}}]});
  }
  chart("c-pressure", {grid: {top: 40, left: 50, right: 20, bottom: 30}, tooltip: {},
    xAxis: {type: "category", data: d.pressure_keys}, yAxis: {type: "value"},
    series: [{type: "bar", data: d.pressure_values}]});
})();
