// Prisme pages: draw the Plotly charts, sort and page the tables, wire the cube form.
(function () {
  // French months, days and numbers on the charts' axes and hover labels (the plotly
  // bundle served by the package carries English only)
  var LOCALE = document.documentElement.lang === "fr" ? "fr" : "en";
  if (window.Plotly && LOCALE === "fr") {
    Plotly.register({moduleType: "locale", name: "fr", dictionary: {
      "Zoom in": "Zoom avant", "Zoom out": "Zoom arrière", "Reset axes": "Réinitialiser",
      "Download plot as a png": "Télécharger en PNG", "Autoscale": "Échelle automatique",
      "Pan": "Déplacer", "Zoom": "Zoom"}, format: {
      days: ["dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"],
      shortDays: ["dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."],
      months: ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
               "septembre", "octobre", "novembre", "décembre"],
      shortMonths: ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août",
                    "sept.", "oct.", "nov.", "déc."],
      date: "%d/%m/%Y", decimal: ",", thousands: "\u202f", grouping: [3],
      currency: ["", "\u00a0€"]}});
  }
  function drawCharts() {
    document.querySelectorAll("div.chart[data-figure]").forEach(function (el) {
      var fig = JSON.parse(el.getAttribute("data-figure"));
      fig.layout = fig.layout || {};
      fig.layout.autosize = true;
      Plotly.newPlot(el, fig.data, fig.layout, {responsive: true, displaylogo: false,
        locale: LOCALE, modeBarButtonsToRemove: ["lasso2d", "select2d"]}).then(function () {
        el.setAttribute("data-drawn", "1");
      });
    });
  }

  function keyOf(td) {
    var k = td.getAttribute("data-key");
    return k === null ? td.textContent.trim() : k;
  }

  function setupTable(table) {
    var tbody = table.tBodies[0];
    if (!tbody) return;
    var size = parseInt(table.getAttribute("data-page-size") || "0", 10);
    var rows = Array.prototype.slice.call(tbody.rows);
    var page = 0, sortCol = -1, asc = true;
    var pager = document.createElement("div");
    pager.className = "pager";
    table.parentNode.insertAdjacentElement("afterend", pager);

    function show() {
      var pages = size > 0 ? Math.max(1, Math.ceil(rows.length / size)) : 1;
      page = Math.min(page, pages - 1);
      rows.forEach(function (r, i) {
        r.style.display = (size <= 0 || (i >= page * size && i < (page + 1) * size)) ? "" : "none";
        tbody.appendChild(r);
      });
      pager.innerHTML = "";
      if (pages > 1) {
        var prev = document.createElement("button"), next = document.createElement("button");
        var label = document.createElement("span");
        prev.textContent = "←"; next.textContent = "→";
        prev.type = next.type = "button";
        prev.disabled = page === 0; next.disabled = page >= pages - 1;
        label.textContent = (page + 1) + " / " + pages + " · " + rows.length;
        prev.onclick = function () { page--; show(); };
        next.onclick = function () { page++; show(); };
        pager.appendChild(prev); pager.appendChild(label); pager.appendChild(next);
      }
    }

    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.classList.add("sort");
      th.addEventListener("click", function (ev) {
        if (ev.target.tagName === "A") return;
        asc = sortCol === col ? !asc : !th.classList.contains("num");
        sortCol = col;
        var numeric = th.classList.contains("num");
        rows.sort(function (a, b) {
          var x = keyOf(a.cells[col]), y = keyOf(b.cells[col]);
          if (x === "" && y !== "") return 1;
          if (y === "" && x !== "") return -1;
          var c = numeric ? (parseFloat(x) - parseFloat(y)) : x.localeCompare(y);
          return asc ? c : -c;
        });
        table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        page = 0; show();
      });
    });
    show();
  }

  function cubeForm() {
    var form = document.querySelector("form.cubeform");
    if (!form) return;
    form.addEventListener("submit", function () {
      function checked(name) {
        return Array.prototype.map.call(form.querySelectorAll("input[name=" + name + "]:checked"),
          function (i) { return i.value; }).join(",");
      }
      form.querySelector("input[name=measures]").value = checked("m");
      form.querySelector("input[name=dimensions]").value = checked("d");
      form.querySelectorAll("input[name=m], input[name=d]").forEach(function (i) { i.disabled = true; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts();
    document.querySelectorAll("table.sortable").forEach(setupTable);
    cubeForm();
  });
})();
