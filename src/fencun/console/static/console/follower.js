(function () {
  var d = JSON.parse(document.getElementById("plot-data").textContent);
  var el = document.getElementById("c-location");
  if (!d || !window.echarts || !el) return;
  var c = echarts.init(el);
  c.setOption({animation: false, title: {text: el.dataset.title, textStyle: {fontSize: 13}}, tooltip: {},
    grid: {top: 40, left: 60, right: 20, bottom: 30},
    xAxis: {type: "value", scale: true}, yAxis: {type: "value", scale: true},
    series: [{type: "scatter", symbolSize: 14, data: d.stores, symbol: "diamond"},
             {type: "scatter", symbolSize: 10, data: d.follower}]});
  window.addEventListener("resize", function () { c.resize(); });
})();
