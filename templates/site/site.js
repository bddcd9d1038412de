// aispend report site: draws every chart on the page. Chart options are JSON data blocks
// (<script type="application/json">), parsed with JSON.parse, never evaluated; labels reach
// echarts as plain strings. Money formatting matches report/format: symbol, thousands separators,
// the currency's minor units.
(function () {
  'use strict';
  var fmtEl = document.getElementById('aispend-format');
  var fmt = fmtEl ? JSON.parse(fmtEl.textContent) : { symbol: '', digits: 2 };

  function money(v) {
    if (typeof v !== 'number' || !isFinite(v)) { return ''; }
    var s = Math.abs(v).toLocaleString('en-US', { minimumFractionDigits: fmt.digits, maximumFractionDigits: fmt.digits });
    return (v < 0 ? '-' : '') + fmt.symbol + s;
  }
  // Axis ticks: whole units, abbreviated past a thousand.
  function axisMoney(v) {
    var a = Math.abs(v), s;
    if (a >= 1e9) { s = (a / 1e9).toLocaleString('en-US', { maximumFractionDigits: 1 }) + 'B'; }
    else if (a >= 1e6) { s = (a / 1e6).toLocaleString('en-US', { maximumFractionDigits: 1 }) + 'M'; }
    else if (a >= 1e4) { s = (a / 1e3).toLocaleString('en-US', { maximumFractionDigits: 1 }) + 'k'; }
    else { s = a.toLocaleString('en-US', { maximumFractionDigits: a < 10 ? fmt.digits : 0 }); }
    return (v < 0 ? '-' : '') + fmt.symbol + s;
  }
  function valueAxes(axes) {
    (Array.isArray(axes) ? axes : axes ? [axes] : []).forEach(function (ax) {
      if (ax.type === 'value') { ax.axisLabel = ax.axisLabel || {}; ax.axisLabel.formatter = axisMoney; }
    });
  }

  var charts = [];
  var nodes = document.querySelectorAll('.chart[data-options]');
  for (var i = 0; i < nodes.length; i++) {
    var el = nodes[i];
    if (typeof echarts === 'undefined') {
      el.textContent = 'Chart library not loaded (assets/echarts.min.js is missing).';
      el.className += ' chart-error';
      continue;
    }
    var src = document.getElementById(el.getAttribute('data-options'));
    var option = JSON.parse(src.textContent);
    // echarts encodes names and values in its default tooltip; we only supply number formatters.
    if (option.tooltip) { option.tooltip.valueFormatter = money; option.tooltip.confine = true; }
    if (option.legend && !Array.isArray(option.legend)) {
      option.legend.textStyle = Object.assign({ width: 160, overflow: 'truncate' }, option.legend.textStyle);
      option.legend.tooltip = { show: true }; // the full name of a truncated entry on hover
    }
    valueAxes(option.xAxis);
    valueAxes(option.yAxis);
    (option.series || []).forEach(function (s) {
      if (s.label && s.label.show) {
        s.label.formatter = s.type === 'pie'
          ? function (p) { return p.name + '\n' + money(p.value) + ' · ' + p.percent.toFixed(1) + '%'; }
          : function (p) {
            // A data item may carry its own text (a model without a price reads "unpriced").
            var own = p.data && p.data.label && p.data.label.formatter;
            return typeof own === 'string' ? own : money(p.value);
          };
      }
    });
    var chart = echarts.init(el, null, { renderer: 'canvas' });
    chart.setOption(option);
    charts.push(chart);
  }
  window.addEventListener('resize', function () { charts.forEach(function (c) { c.resize(); }); });
})();
