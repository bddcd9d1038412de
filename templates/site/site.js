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
  // Below this width (a phone) a chart is laid out for the room it has: see fit.
  var NARROW = 480;

  // fit adapts a chart's options to its width (px): value axes get as many ticks as their labels
  // have room for, and no label is drawn over another; on a narrow chart the donut lists its
  // slices in a legend under it instead of labelling them around it (where they were cut to
  // "…"), and the model names take a share of the width instead of a fixed 180 px.
  function fit(option, width, el) {
    var narrow = width < NARROW;
    [].concat(option.xAxis || []).forEach(function (ax) {
      ax.axisLabel = ax.axisLabel || {};
      ax.axisLabel.hideOverlap = true;
      if (ax.type === 'value') {
        ax.axisLabel.formatter = axisMoney;
        // A horizontal value axis: one tick per 150 px at most (an abbreviated amount is ~45 px).
        ax.splitNumber = Math.max(2, Math.floor(width / 150));
      }
    });
    [].concat(option.yAxis || []).forEach(function (ax) {
      ax.axisLabel = ax.axisLabel || {};
      ax.axisLabel.hideOverlap = true;
      if (ax.type === 'value') { ax.axisLabel.formatter = axisMoney; }
      if (ax.type === 'category' && ax.axisLabel.width && narrow) { ax.axisLabel.width = Math.round(width * 0.36); }
    });
    (option.series || []).forEach(function (s) {
      if (s.type !== 'pie' || !narrow) { return; }
      var total = 0, byName = {};
      s.data.forEach(function (d) { total += d.value; byName[d.name] = d.value; });
      s.label = { show: false };
      s.labelLine = { show: false };
      s.center = ['50%', 110];
      s.radius = [50, 96];
      el.style.height = (240 + 26 * s.data.length) + 'px'; // the donut, then one legend line per slice
      option.legend = {
        show: true, orient: 'vertical', left: 0, top: 226, itemGap: 10, icon: 'circle',
        // The share is truncated as the tables' Share column is (format.Percent).
        formatter: function (name) {
          var v = byName[name], pct = total > 0 ? Math.floor(v * 1000 / total) / 10 : 0;
          return name + '  ' + money(v) + ' · ' + pct.toFixed(1) + '%';
        },
        textStyle: { width: width - 48, overflow: 'truncate' }, // the icon and its gap take the rest
        tooltip: { show: true } // the full text of a shortened entry on hover
      };
    });
    return option;
  }

  // options reads a chart's options from its JSON data block and adds the formatters.
  function options(el) {
    var option = JSON.parse(document.getElementById(el.getAttribute('data-options')).textContent);
    // echarts encodes names and values in its default tooltip; we only supply number formatters.
    if (option.tooltip) { option.tooltip.valueFormatter = money; option.tooltip.confine = true; }
    if (option.legend && !Array.isArray(option.legend)) {
      option.legend.textStyle = Object.assign({ width: 160, overflow: 'truncate' }, option.legend.textStyle);
      option.legend.tooltip = { show: true }; // the full name of a truncated entry on hover
    }
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
    return option;
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
    var width = el.clientWidth, height = el.style.height;
    var option = fit(options(el), width, el); // before init: it may set the chart's height
    var chart = echarts.init(el, null, { renderer: 'canvas' });
    chart.setOption(option);
    charts.push({ chart: chart, el: el, narrow: width < NARROW, height: height });
  }
  // A chart that crosses the narrow width (a phone turned) is laid out again from its options.
  window.addEventListener('resize', function () {
    charts.forEach(function (c) {
      var width = c.el.clientWidth, narrow = width < NARROW;
      if (narrow !== c.narrow) {
        c.narrow = narrow;
        c.el.style.height = c.height;
        c.chart.setOption(fit(options(c.el), width, c.el), true);
      }
      c.chart.resize();
    });
  });
})();
