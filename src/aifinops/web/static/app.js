/* aifinops dashboard: fills the server-rendered pages from the JSON API (/api/v1) and draws
 * the charts with the local plotly.min.js. Same-origin requests only (the token cookie, when
 * the app has a token, travels with them). No external resources. */
"use strict";

(function () {
  const API = "/api/v1";
  const $ = (sel) => document.querySelector(sel);
  const $$ = (sel) => Array.from(document.querySelectorAll(sel));

  // ---------------------------------------------------------------- fetching
  async function api(path, params) {
    const qs = params ? params.toString() : "";
    const url = API + path + (qs ? "?" + qs : "");
    const response = await fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (!response.ok) {
      let detail = response.status + " " + response.statusText;
      try {
        const body = await response.json();
        if (body && body.detail) {
          detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
        }
      } catch (e) {
        /* not JSON: keep the status line */
      }
      throw new Error(url + ": " + detail);
    }
    return response.json();
  }

  function showError(error) {
    const box = $("#error");
    if (!box) return;
    box.textContent = String(error && error.message ? error.message : error);
    box.hidden = false;
  }

  function clearError() {
    const box = $("#error");
    if (box) box.hidden = true;
  }

  /* Run loaders one at a time per key; a newer call makes older answers stale. */
  const generations = {};
  async function latest(key, loader) {
    const mine = (generations[key] = (generations[key] || 0) + 1);
    try {
      const result = await loader();
      if (mine !== generations[key]) return null;
      clearError();
      return result;
    } catch (error) {
      if (mine === generations[key]) showError(error);
      return null;
    }
  }

  // ---------------------------------------------------------------- formatting
  const MONEY_KEYS = /(cost|saving|savings|billed|effective|list|contracted|previous|current|change|rate|ondemand|spot|price|usd)/;
  const moneyFormat = new Intl.NumberFormat("en-US", {
    minimumFractionDigits: 2,
    maximumFractionDigits: 2,
  });
  const numberFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });

  function num(value) {
    if (value === null || value === undefined || value === "") return null;
    const n = Number(value);
    return Number.isFinite(n) ? n : null;
  }
  function money(value) {
    const n = num(value);
    return n === null ? "—" : moneyFormat.format(n);
  }
  function percent(value) {
    const n = num(value);
    return n === null ? "—" : (n * 100).toFixed(1) + "%";
  }
  function label(value) {
    return value === null || value === undefined || value === "" ? "(none)" : String(value);
  }
  function isMoneyKey(key) {
    if (/^wasted_|_waste$/.test(key)) return true;
    return MONEY_KEYS.test(key) && !/(_type|_where|_basis|is_spot|_at|_source)$/.test(key);
  }
  /* A price per unit: cents from $1,000 up, else four significant digits ($0.01369). */
  const unitFormat = new Intl.NumberFormat("en-US", { maximumSignificantDigits: 4 });
  function unitPrice(value) {
    const n = num(value);
    if (n === null) return "—";
    return Math.abs(n) >= 1000 ? moneyFormat.format(n) : unitFormat.format(n);
  }
  /* Measures that are counts or physical quantities (not money), shown with separators. */
  const QUANTITY_KEYS = /(^|_)(hours|kwh|pct|requests|tokens_in|tokens_out|epochs|steps|samples|segments|evaluations|units)$/;
  function when(value) {
    return String(value).replace(/^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2}(\.\d+)?)?Z$/, "$1 $2");
  }
  function cell(key, value, labelKeys) {
    if (value === null || value === undefined) return labelKeys && labelKeys.includes(key) ? "(none)" : "—";
    if (typeof value === "boolean") return value ? "yes" : "no";
    if (typeof value === "object") return JSON.stringify(value);
    if (key === "share" || key.endsWith("_share")) return percent(value);
    if (key.startsWith("usd_per_") && num(value) !== null) return unitPrice(value);
    if (isMoneyKey(key) && num(value) !== null) return money(value);
    if (QUANTITY_KEYS.test(key) && num(value) !== null) return numberFormat.format(num(value));
    if (typeof value === "string" && /^\d{4}-\d{2}-\d{2}T/.test(value)) return when(value);
    if ((key.endsWith("rows") || key.endsWith("_hours") || key === "files") && num(value) !== null) {
      return numberFormat.format(num(value));
    }
    return String(value);
  }

  // ---------------------------------------------------------------- tables
  /* A table of ``rows``; ``labelKeys`` are grouping columns, whose empty value reads "(none)";
   * ``titles`` (column -> text) become the column headers' tooltips. */
  function renderTable(container, rows, columns, labelKeys, empty, titles) {
    if (!container) return;
    container.textContent = "";
    if (!rows || rows.length === 0) {
      const p = document.createElement("p");
      p.className = "muted";
      p.textContent = empty || "No rows.";
      container.appendChild(p);
      return;
    }
    const cols = columns || Object.keys(rows[0]);
    const table = document.createElement("table");
    const head = table.createTHead().insertRow();
    for (const c of cols) {
      const th = document.createElement("th");
      th.textContent = c.replace(/_/g, " ");
      th.scope = "col";
      if (titles && titles[c]) {
        th.title = titles[c];
        th.classList.add("explained");
      }
      if (isNumericColumn(rows, c)) th.classList.add("num");
      head.appendChild(th);
    }
    const body = table.createTBody();
    for (const row of rows) {
      const tr = body.insertRow();
      for (const c of cols) {
        const td = tr.insertCell();
        td.textContent = cell(c, row[c], labelKeys);
        if (isNumericColumn(rows, c)) td.className = "num";
      }
    }
    container.appendChild(table);
  }
  function isNumericColumn(rows, key) {
    const sample = rows.find((r) => r[key] !== null && r[key] !== undefined);
    if (!sample) return false;
    const v = sample[key];
    return typeof v === "number" || (typeof v === "string" && /^-?\d+(\.\d+)?$/.test(v) && key !== "billing_account");
  }

  // ---------------------------------------------------------------- charts
  /* No Plotly logo link and no "Share chart" button: nothing may leave the app. */
  const PLOT_CONFIG = {
    displaylogo: false,
    showSendToCloud: false,
    responsive: true,
    modeBarButtonsToRemove: ["sendChartToCloud", "select2d", "lasso2d", "autoScale2d"],
  };
  const PALETTE = ["#2f6fb2", "#e07b39", "#3a9d5d", "#c8453c", "#8463b8", "#8c6d4f", "#d46fb0", "#6f7d8c", "#b5b23a", "#2fb1c2"];

  function plot(element, traces, layout) {
    if (!element || typeof Plotly === "undefined") return Promise.resolve();
    const base = {
      margin: { t: 16, r: 16, b: 64, l: 72 },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      font: { family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 12 },
      colorway: PALETTE,
      legend: { orientation: "h", y: -0.2 },
      hoverlabel: { namelength: -1 },
    };
    return Plotly.react(element, traces, Object.assign(base, layout || {}), PLOT_CONFIG);
  }
  function markDrawn(element, query) {
    if (element) element.dataset.query = query;
  }

  // ---------------------------------------------------------------- shared controls
  let metaPromise = null;
  function meta() {
    if (!metaPromise) metaPromise = api("/meta");
    return metaPromise;
  }

  async function fillPeriods(select, current) {
    if (!select) return;
    const m = await meta();
    const header = $("#lake-version");
    if (header) header.textContent = "lake " + String(m.version || "").slice(0, 12);
    const months = (m.months || []).slice().sort();
    const years = Array.from(new Set(months.map((x) => x.slice(0, 4))));
    const options = [["all", "All months"]];
    if (months.length > 1) {
      options.push([months[0] + ".." + months[months.length - 1], months[0] + " – " + months[months.length - 1]]);
    }
    if (years.length > 1) for (const y of years) options.push([y, y]);
    for (const month of months.slice().reverse()) options.push([month, month]);
    if (current && !options.some((o) => o[0] === current)) options.push([current, current]);
    select.textContent = "";
    for (const [value, text] of options) {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = text;
      select.appendChild(option);
    }
    select.value = current || "all";
  }

  function urlParams() {
    return new URLSearchParams(window.location.search);
  }
  function writeUrl(params) {
    const qs = params.toString();
    window.history.replaceState(null, "", window.location.pathname + (qs ? "?" + qs : ""));
  }

  // ---------------------------------------------------------------- overview
  async function overviewPage() {
    const select = $("#period");
    await fillPeriods(select, urlParams().get("period") || "all");
    const load = async () => {
      const params = new URLSearchParams({ period: select.value });
      writeUrl(select.value === "all" ? new URLSearchParams() : params);
      const data = await latest("overview", () => api("/overview", params));
      if (data) drawOverview(data, params.toString());
    };
    select.addEventListener("change", load);
    await load();
  }

  function setKpi(id, text, title) {
    const tile = $("#kpi-" + id);
    if (!tile) return;
    const value = tile.querySelector(".kpi-value");
    value.textContent = text;
    tile.classList.toggle("empty", text === "no telemetry" || text === "—");
    if (title) tile.title = title;
  }

  function drawOverview(data, query) {
    const k = data.kpis || {};
    setKpi("effective_cost", money((data.totals || {}).effective_cost), "Effective cost in " + data.period);
    setKpi("allocatable_share", percent(k.allocatable_share), "Share of cost carrying an owner tag");
    setKpi("effective_savings_rate", percent(k.effective_savings_rate), "Savings ÷ list cost");
    setKpi(
      "idle_gpu_share",
      !k.telemetry ? "no telemetry" : percent(k.idle_gpu_share),
      k.telemetry ? "Share of the GPU-hours seen in telemetry spent idle or zombie (GPU waste page)" : "Needs GPU telemetry: aifinops import telemetry"
    );
    setKpi("usd_per_gpu_hour", k.usd_per_gpu_hour === null || k.usd_per_gpu_hour === undefined ? "—" : "$" + money(k.usd_per_gpu_hour));

    const trend = data.trend || [];
    const months = Array.from(new Set(trend.map((r) => r.month))).sort();
    const providers = Array.from(new Set(trend.map((r) => label(r.provider)))).sort();
    const traces = providers.map((p) => {
      const byMonth = {};
      for (const r of trend) if (label(r.provider) === p) byMonth[r.month] = num(r.effective_cost);
      return { type: "bar", name: p, x: months, y: months.map((m) => byMonth[m] || 0) };
    });
    const trendEl = $("#chart-trend");
    plot(trendEl, traces, { barmode: "stack", xaxis: { type: "category" }, yaxis: { title: { text: "effective cost" } } })
      .then(() => markDrawn(trendEl, query));

    const ai = data.ai || {};
    const accel = num(ai.accelerator_cost) || 0;
    const total = num(ai.total_cost) || 0;
    const aiEl = $("#chart-ai");
    plot(
      aiEl,
      [{
        type: "pie",
        hole: 0.55,
        sort: false,
        labels: ["AI / GPU", "Everything else"],
        values: [accel, Math.max(total - accel, 0)],
        marker: { colors: ["#e07b39", "#c9d3de"] },
        textinfo: "percent",
      }],
      {
        margin: { t: 8, r: 8, b: 8, l: 8 },
        showlegend: true,
        annotations: [{ text: percent(ai.share), showarrow: false, font: { size: 20 } }],
      }
    ).then(() => markDrawn(aiEl, query));

    const movers = data.movers || [];
    const caption = $("#movers-months");
    if (caption) caption.textContent = movers.length ? "(last month in the period vs the one before)" : "";
    renderTable($("#movers"), movers, ["service", "provider", "previous", "current", "change"]);
  }

  // ---------------------------------------------------------------- explore
  /* The CSV download holds every group (up to the API's largest limit), not just the top 100. */
  const CSV_LIMIT = 10000;
  const EXPLORE_DEFAULT = { by: ["provider"], period: "all", measure: "effective_cost", filters: [], chart: "bar" };

  function readExplore() {
    const p = urlParams();
    const by = (p.get("by") || EXPLORE_DEFAULT.by.join(",")).split(",").filter(Boolean).slice(0, 3);
    return {
      by: p.has("by") ? by : EXPLORE_DEFAULT.by.slice(),
      period: p.get("period") || EXPLORE_DEFAULT.period,
      measure: p.get("measure") || EXPLORE_DEFAULT.measure,
      filters: p.getAll("filter"),
      chart: p.get("chart") === "line" ? "line" : "bar",
    };
  }

  /* The API's parameters for a state (shared by the JSON call and the CSV link). */
  function exploreApiParams(state) {
    const p = new URLSearchParams();
    p.set("by", state.by.join(","));
    p.set("period", state.period);
    p.set("measure", state.measure);
    for (const f of state.filters) p.append("filter", f);
    return p;
  }
  function exploreUrlParams(state) {
    const p = exploreApiParams(state);
    p.set("chart", state.chart);
    return p;
  }

  async function explorePage() {
    const state = readExplore();
    const bySelects = $$("select.by");
    const measure = $("#measure");
    const chart = $("#chart-type");
    const period = $("#period");
    await fillPeriods(period, state.period);

    const showControls = () => {
      bySelects.forEach((s, i) => (s.value = state.by[i] || ""));
      measure.value = state.measure;
      chart.value = state.chart;
      period.value = state.period;
      drawChips(state);
    };
    const refresh = async () => {
      writeUrl(exploreUrlParams(state));
      const apiParams = exploreApiParams(state);
      const csv = new URLSearchParams(apiParams);
      csv.set("limit", String(CSV_LIMIT));
      csv.set("format", "csv");
      $("#download-csv").href = API + "/explore?" + csv.toString();
      const data = await latest("explore", () => api("/explore", apiParams));
      if (data) drawExplore(state, data, exploreUrlParams(state).toString());
    };
    const fromControls = () => {
      state.by = bySelects.map((s) => s.value).filter(Boolean).filter((v, i, a) => a.indexOf(v) === i);
      state.measure = measure.value;
      state.chart = chart.value;
      state.period = period.value;
      showControls();
      refresh();
    };
    showControls();
    for (const el of [...bySelects, measure, chart, period]) el.addEventListener("change", fromControls);

    state.removeFilter = (f) => {
      state.filters = state.filters.filter((x) => x !== f);
      showControls();
      refresh();
    };
    state.addFilter = (f) => {
      if (!state.filters.includes(f)) state.filters.push(f);
      showControls();
      refresh();
    };
    const dim = $("#filter-dim");
    const value = $("#filter-value");
    $("#filter-add").addEventListener("click", () => {
      state.addFilter(dim.value + ":" + value.value.trim());
      value.value = "";
    });
    value.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        $("#filter-add").click();
      }
    });
    const suggest = async () => {
      const p = new URLSearchParams({ by: dim.value, period: state.period, measure: state.measure, limit: "200" });
      const data = await latest("suggest", () => api("/explore", p));
      const list = $("#filter-values");
      list.textContent = "";
      for (const row of (data && data.rows) || []) {
        const option = document.createElement("option");
        option.value = row[dim.value] === null || row[dim.value] === undefined ? "" : String(row[dim.value]);
        list.appendChild(option);
      }
    };
    dim.addEventListener("change", suggest);
    value.addEventListener("focus", suggest, { once: true });

    const chartEl = $("#chart-explore");
    chartEl.addEventListener("plotly_click_value", (event) => state.addFilter(event.detail));
    await refresh();
  }

  function drawChips(state) {
    const chips = $("#filter-chips");
    chips.textContent = "";
    for (const f of state.filters) {
      const chip = document.createElement("span");
      chip.className = "chip";
      const colon = f.indexOf(":");
      chip.textContent = f.slice(0, colon) + " = " + (f.slice(colon + 1) || "(none)");
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "chip-remove";
      remove.setAttribute("aria-label", "Remove filter " + f);
      remove.textContent = "×";
      remove.addEventListener("click", () => state.removeFilter(f));
      chip.appendChild(remove);
      chips.appendChild(chip);
    }
  }

  function drawExplore(state, data, query) {
    const by = data.by || state.by;
    const m = data.measure || state.measure;
    const rows = data.rows || [];
    const title = $("#explore-title");
    title.textContent =
      m.replace(/_/g, " ") + (by.length ? " by " + by.join(", ") : "") + " · " + (data.period || state.period);

    const el = $("#chart-explore");
    let traces;
    if (by.length === 0) {
      traces = [{ type: "bar", name: m, x: ["total"], y: [num((data.total || {})[m])] }];
    } else {
      const xKey = by[0];
      const rest = by.slice(1);
      const xs = [];
      for (const r of rows) if (!xs.includes(label(r[xKey]))) xs.push(label(r[xKey]));
      if (xKey === "month" || xKey === "day") xs.sort();
      const series = new Map();
      for (const r of rows) {
        const name = rest.length ? rest.map((d) => label(r[d])).join(" / ") : m.replace(/_/g, " ");
        if (!series.has(name)) series.set(name, {});
        const values = series.get(name);
        values[label(r[xKey])] = (values[label(r[xKey])] || 0) + (num(r[m]) || 0);
      }
      traces = Array.from(series.entries()).map(([name, values]) => {
        const trace = { name, x: xs, y: xs.map((x) => (x in values ? values[x] : null)) };
        if (state.chart === "line") Object.assign(trace, { type: "scatter", mode: "lines+markers", connectgaps: false });
        else trace.type = "bar";
        return trace;
      });
    }
    plot(el, traces, {
      barmode: "stack",
      showlegend: by.length > 1,
      xaxis: { type: "category", automargin: true },
      yaxis: { title: { text: m.replace(/_/g, " ") }, automargin: true },
    }).then(() => {
      markDrawn(el, query);
      if (el.on && !el.dataset.clickBound && by.length) {
        el.dataset.clickBound = "1";
        el.on("plotly_click", (event) => {
          const point = event.points && event.points[0];
          const current = readExplore();
          if (!point || !current.by.length) return;
          const value = point.x === "(none)" ? "" : String(point.x);
          el.dispatchEvent(new CustomEvent("plotly_click_value", { detail: current.by[0] + ":" + value }));
        });
      }
    });

    const columns = data.columns || (rows.length ? Object.keys(rows[0]) : by);
    const measures = columns.filter((k) => !by.includes(k));
    renderTable($("#explore-table"), rows, [...by, ...measures], by);
    const table = $("#explore-table table");
    if (table && data.total) {
      const foot = table.createTFoot().insertRow();
      for (const c of [...by, ...measures]) {
        const td = foot.insertCell();
        if (c === by[0]) td.textContent = "total";
        else if (c in data.total) {
          td.textContent = cell(c, data.total[c]);
          td.className = "num";
        }
      }
    }
    if (data.truncated) {
      const note = document.createElement("p");
      note.className = "muted";
      note.textContent = "Showing the " + rows.length + " largest of " + data.groups +
        " groups; the total covers them all, and so does the CSV (up to " + CSV_LIMIT + " rows).";
      $("#explore-table").appendChild(note);
    }
    $("#explore-table").dataset.query = query;
  }

  // ---------------------------------------------------------------- GPUs
  async function gpusPage() {
    const select = $("#period");
    await fillPeriods(select, urlParams().get("period") || "all");
    const load = async () => {
      const params = new URLSearchParams({ period: select.value });
      writeUrl(select.value === "all" ? new URLSearchParams() : params);
      const usage = latest("gpus-utilisation", () => api("/gpus/utilisation", params)).then((u) => {
        if (u) drawUtilisation(u, params.toString());
      });
      const data = await latest("gpus", () => api("/gpus", params));
      if (data) drawGpus(data, params.toString());
      await usage;
    };
    select.addEventListener("change", load);
    await load();
  }

  function drawGpus(data, query) {
    const rows = data.rows || [];
    const models = Array.from(new Set(rows.map((r) => label(r.gpu_model)))).sort();
    const providers = Array.from(new Set(rows.map((r) => label(r.provider)))).sort();
    const hoursEl = $("#chart-gpu-hours");
    plot(
      hoursEl,
      providers.map((p) => ({
        type: "bar",
        name: p,
        x: models,
        y: models.map((mo) =>
          rows
            .filter((r) => label(r.provider) === p && label(r.gpu_model) === mo)
            .reduce((s, r) => s + (num(r.accelerator_hours) || 0), 0)
        ),
      })),
      { barmode: "stack", xaxis: { type: "category" }, yaxis: { title: { text: "accelerator-hours" } } }
    ).then(() => markDrawn(hoursEl, query));

    // Per model × cloud: what was paid per accelerator-hour beside the catalog's prices
    // (on-demand and spot in the same regions, hours-weighted; the cheapest anywhere).
    const groups = new Map();
    for (const r of rows) {
      const key = label(r.gpu_model) + " · " + label(r.provider);
      if (!groups.has(key)) groups.set(key, { hours: 0, cost: 0, od: [0, 0], spot: [0, 0], cheapOd: null, cheapSpot: null });
      const g = groups.get(key);
      const h = num(r.accelerator_hours) || 0;
      g.hours += h;
      g.cost += num(r.effective_cost) || 0;
      if (num(r.region_ondemand) !== null) { g.od[0] += h * num(r.region_ondemand); g.od[1] += h; }
      if (num(r.region_spot) !== null) { g.spot[0] += h * num(r.region_spot); g.spot[1] += h; }
      if (num(r.cheapest_ondemand) !== null) g.cheapOd = num(r.cheapest_ondemand);
      if (num(r.cheapest_spot) !== null) g.cheapSpot = num(r.cheapest_spot);
    }
    const keys = Array.from(groups.keys()).sort();
    const pick = (f) => keys.map((k) => f(groups.get(k)));
    const avg = (pair) => (pair[1] > 0 ? pair[0] / pair[1] : null);
    const rateEl = $("#chart-gpu-rate");
    plot(
      rateEl,
      [
        { type: "bar", name: "paid (effective)", x: keys, y: pick((g) => (g.hours > 0 ? g.cost / g.hours : null)), marker: { color: "#2f6fb2" } },
        { type: "scatter", mode: "markers", name: "on-demand (same regions)", x: keys, y: pick((g) => avg(g.od)), marker: { symbol: "line-ew-open", size: 22, line: { width: 3 }, color: "#c8453c" } },
        { type: "scatter", mode: "markers", name: "spot (same regions)", x: keys, y: pick((g) => avg(g.spot)), marker: { symbol: "line-ew-open", size: 22, line: { width: 3 }, color: "#3a9d5d" } },
        { type: "scatter", mode: "markers", name: "cheapest on-demand anywhere", x: keys, y: pick((g) => g.cheapOd), marker: { symbol: "diamond", size: 9, color: "#e07b39" } },
        { type: "scatter", mode: "markers", name: "cheapest spot anywhere", x: keys, y: pick((g) => g.cheapSpot), marker: { symbol: "diamond-open", size: 9, color: "#8463b8" } },
      ],
      {
        xaxis: { type: "category", automargin: true, tickangle: -30 },
        yaxis: { title: { text: "$ per accelerator-hour" } },
        legend: { orientation: "h", x: 0, y: 1.12 },
        margin: { t: 40, r: 16, b: 16, l: 72 },
      }
    ).then(() => markDrawn(rateEl, query));

    renderTable($("#gpu-table"), rows, [
      "gpu_model", "provider", "region", "pricing_category", "is_spot", "accelerator_hours",
      "effective_cost", "effective_rate", "region_ondemand", "region_spot",
      "cheapest_ondemand", "cheapest_spot", "saving_vs_ondemand", "saving_vs_spot", "price_basis",
    ].filter((c) => rows.length === 0 || c in rows[0]), ["gpu_model", "provider", "region", "pricing_category"]);
    renderTable($("#gpu-cheapest"), data.cheapest || []);
    const notes = $("#gpu-notes");
    notes.textContent = "";
    for (const n of data.notes || []) {
      const li = document.createElement("li");
      li.textContent = n;
      notes.appendChild(li);
    }
  }

  const STATE_COLORS = { busy: "#3a9d5d", underused: "#e0b339", zombie: "#c8453c", idle: "#8c98a6" };
  const STATES = ["busy", "underused", "zombie", "idle"];

  /* GPU-hours by state per model, from telemetry (or why there is none). */
  function drawUtilisation(data, query) {
    const rows = data.rows || [];
    const el = $("#chart-gpu-util");
    const none = $("#gpu-util-none");
    if (none) none.hidden = !!data.telemetry;
    const models = rows.map((r) => label(r.model));
    plot(
      el,
      STATES.map((s) => ({
        type: "bar",
        name: s,
        x: models,
        y: rows.map((r) => num(r[s + "_hours"]) || 0),
        marker: { color: STATE_COLORS[s] },
      })),
      { barmode: "stack", xaxis: { type: "category", automargin: true }, yaxis: { title: { text: "GPU-hours observed" } } }
    ).then(() => markDrawn(el, query));
    renderTable(
      $("#gpu-util-table"),
      rows,
      ["model", "gpu_hours", "busy_hours", "underused_hours", "zombie_hours", "idle_hours", "waste_share", "waste_cost", "energy_kwh", "mean_util_pct"],
      ["model"],
      data.telemetry ? "No GPU-hours in telemetry for this period." : "No GPU telemetry: aifinops import telemetry, or aifinops collect gpu."
    );
  }

  // ---------------------------------------------------------------- teams
  async function teamsPage() {
    const select = $("#period");
    const owner = $("#owner-by");
    const p = urlParams();
    await fillPeriods(select, p.get("period") || "all");
    if (p.get("by")) owner.value = p.get("by");
    const load = async () => {
      const params = new URLSearchParams({ by: owner.value, period: select.value });
      writeUrl(params);
      const data = await latest("teams", () => api("/teams", params));
      if (data) drawTeams(data, params.toString());
    };
    select.addEventListener("change", load);
    owner.addEventListener("change", load);
    await load();
  }

  function drawTeams(data, query) {
    const rows = (data.rows || []).slice().sort((a, b) => (num(b.total_cost) || 0) - (num(a.total_cost) || 0));
    const top = rows.slice(0, 30);
    const owners = top.map((r) => label(r.owner));
    const el = $("#chart-teams");
    plot(
      el,
      [
        { type: "bar", name: "direct", x: owners, y: top.map((r) => num(r.direct_cost)) },
        { type: "bar", name: "shared", x: owners, y: top.map((r) => num(r.shared_cost)) },
      ],
      { barmode: "stack", xaxis: { type: "category", automargin: true }, yaxis: { title: { text: "cost" } } }
    ).then(() => markDrawn(el, query));
    renderTable($("#teams-table"), rows, ["owner", "direct_cost", "shared_cost", "total_cost", "accelerator_hours", "usd_per_gpu_hour"], ["owner"]);
    renderTable($("#teams-pools"), data.pools || [], null, null, "No shared-cost pools configured (allocation.shared in the settings): shared cost is 0.");
  }

  // ---------------------------------------------------------------- data
  async function dataPage() {
    meta().then((m) => {
      const header = $("#lake-version");
      if (header) header.textContent = "lake " + String(m.version || "").slice(0, 12);
    }, showError);
    const data = await latest("data", () => api("/data"));
    if (!data) return;
    const v = data.validation || {};
    const badge = $("#validation-status");
    badge.textContent = v.ok ? "valid" : "violations";
    badge.className = "badge " + (v.ok ? "ok" : "bad");
    $("#validation-summary").textContent =
      numberFormat.format(v.rows_checked || 0) + " rows checked against the FOCUS contract; " +
      (v.violations || []).length + " violation(s).";
    renderTable($("#validation-violations"), v.violations || [], null, null, "No violations.");
    renderTable($("#data-partitions"), data.partitions || []);
    renderTable($("#data-reconciliation"), data.reconciliation || []);
    $("#data-partitions").dataset.query = "loaded";
  }

  // ---------------------------------------------------------------- start
  const PAGES = { overview: overviewPage, explore: explorePage, gpus: gpusPage, teams: teamsPage, data: dataPage };
  /* What the other page scripts (ml.js) share; they add their pages to ``pages``. */
  window.aifinops = {
    API, $, $$, api, latest, showError, num, money, percent, label, cell, unitPrice, when,
    renderTable, plot, markDrawn, fillPeriods, urlParams, writeUrl, PALETTE, STATES, STATE_COLORS,
    pages: {},
  };
  document.addEventListener("DOMContentLoaded", () => {
    for (const form of $$("form.controls")) form.addEventListener("submit", (e) => e.preventDefault());
    const page = document.body.dataset.page;
    const start = PAGES[page] || window.aifinops.pages[page];
    if (start) start().catch(showError);
  });
})();
