/* aifinops dashboard, the ML pages: Unit costs, Runs and GPU waste. Built on app.js's
 * helpers (window.aifinops) and the same-origin JSON API; nothing else is loaded. Each page
 * keeps its state in the URL and marks its charts (data-query) once drawn. */
"use strict";

(function () {
  const A = window.aifinops;
  if (!A) return;
  const { $, api, latest, num, label, plot, markDrawn, renderTable, fillPeriods, urlParams, writeUrl } = A;

  // ---------------------------------------------------------------- shared
  /* Select ``wanted`` when ``select`` offers it, else ``fallback``. */
  function choose(select, wanted, fallback) {
    const values = Array.from(select.options).map((o) => o.value);
    select.value = wanted !== null && values.includes(wanted) ? wanted : fallback;
  }
  /* Replace a select's options by ``[value, text, title]``, keeping ``current`` if offered. */
  function setOptions(select, options, current) {
    select.textContent = "";
    for (const [value, text, title] of options) {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = text;
      if (title) option.title = title;
      select.appendChild(option);
    }
    choose(select, current, options.length ? options[0][0] : "");
  }
  /* The URL state: only what differs from the defaults. */
  function stateParams(values, defaults) {
    const p = new URLSearchParams();
    for (const [key, value] of Object.entries(values)) {
      if (value !== "" && value !== null && value !== defaults[key]) p.set(key, value);
    }
    return p;
  }
  function csvLink(link, path, params) {
    const p = new URLSearchParams(params);
    p.set("format", "csv");
    link.href = A.API + path + "?" + p.toString();
  }
  function listNotes(list, notes) {
    list.textContent = "";
    for (const n of notes) {
      const li = document.createElement("li");
      li.textContent = n;
      list.appendChild(li);
    }
  }
  function words(key) {
    return String(key).replace(/_/g, " ");
  }
  function groupLabel(row, dims) {
    return dims.map((d) => label(row[d])).join(" · ");
  }

  // ---------------------------------------------------------------- unit costs
  const UNITS_DEFAULT = { by: "model", grain: "month", period: "all", figure: "usd_per_1k_requests" };
  /* Series a chart draws at most (the costliest groups). */
  const MAX_SERIES = 15;
  const UNIT_TABLE = [
    "cost", "gpu_hours", "usd_per_gpu_hour", "requests", "usd_per_1k_requests", "tokens_in",
    "usd_per_1m_tokens_in", "tokens_out", "usd_per_1m_tokens_out", "epochs", "usd_per_epoch",
    "steps", "usd_per_step", "samples", "usd_per_1k_samples", "usd_per_1k_requests_all_hours",
    "unpriced_buckets",
  ];

  async function unitsPage() {
    const p = urlParams();
    const by = $("#units-by");
    const grain = $("#units-grain");
    const figure = $("#units-figure");
    const period = $("#period");
    await fillPeriods(period, p.get("period") || UNITS_DEFAULT.period);
    choose(by, p.get("by"), UNITS_DEFAULT.by);
    choose(grain, p.get("grain"), UNITS_DEFAULT.grain);
    choose(figure, p.get("figure"), UNITS_DEFAULT.figure);
    let shown = null;
    const state = () => stateParams(
      { by: by.value, grain: grain.value, period: period.value, figure: figure.value }, UNITS_DEFAULT
    );
    const load = async () => {
      const params = new URLSearchParams({ by: by.value, grain: grain.value, period: period.value });
      writeUrl(state());
      csvLink($("#units-csv"), "/units", params);
      const data = await latest("units", () => api("/units", params));
      if (data) {
        shown = data;
        drawUnits(data, figure.value, state().toString());
      }
    };
    for (const el of [by, grain, period]) el.addEventListener("change", load);
    figure.addEventListener("change", () => {
      writeUrl(state());
      if (shown) drawUnits(shown, figure.value, state().toString());
    });
    await load();
  }

  function drawUnits(data, column, query) {
    const dims = data.by || [];
    const figures = data.figures || [];
    const figure = figures.find((f) => f.column === column) || { column, per: words(column), formula: "" };
    const rows = data.rows || [];
    const grouped = data.grain !== "none";
    $("#units-title").textContent = "$ per " + figure.per + " by " + dims.map(words).join(", ") + " · " + data.period;
    $("#units-formula").textContent = figure.formula;

    const cost = new Map();
    for (const r of rows) {
      if (num(r[column]) === null) continue; // a group without this unit has no line
      const g = groupLabel(r, dims);
      cost.set(g, (cost.get(g) || 0) + (num(r.cost) || 0));
    }
    const groups = Array.from(cost.keys()).sort((a, b) => cost.get(b) - cost.get(a)).slice(0, MAX_SERIES);
    const hover = "%{fullData.name}<br>%{x}: $%{y:,.4~g} per " + figure.per + "<extra></extra>";
    let traces;
    if (grouped) {
      const periods = Array.from(new Set(rows.map((r) => r.period))).sort();
      traces = groups.map((g) => {
        const values = {};
        for (const r of rows) if (groupLabel(r, dims) === g) values[r.period] = num(r[column]);
        return {
          type: "scatter", mode: "lines+markers", connectgaps: false, name: g, x: periods,
          y: periods.map((x) => (x in values ? values[x] : null)), hovertemplate: hover,
        };
      });
    } else {
      const values = {};
      for (const r of rows) values[groupLabel(r, dims)] = num(r[column]);
      traces = [{ type: "bar", name: "$ per " + figure.per, x: groups, y: groups.map((g) => values[g]), hovertemplate: hover }];
    }
    const empty = !rows.some((r) => num(r[column]) !== null);
    const el = $("#chart-units");
    plot(el, traces, {
      showlegend: grouped,
      legend: { orientation: "h", x: 0, y: 1.12 },
      margin: { t: 40, r: 16, b: 48, l: 72 },
      xaxis: { type: data.grain === "day" ? "date" : "category", automargin: true },
      yaxis: { title: { text: "$ per " + figure.per }, automargin: true, rangemode: "tozero" },
      annotations: empty
        ? [{ text: "Nothing counted for this figure in the period", showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5 }]
        : [],
    }).then(() => markDrawn(el, query));

    const keys = grouped ? [...dims, "period"] : dims;
    const titles = { cost: "Cost basis: " + data.basis };
    for (const f of figures) titles[f.column] = f.formula;
    const present = new Set(data.columns || []);
    renderTable(
      $("#units-table"),
      rows,
      [...keys, ...UNIT_TABLE.filter((c) => present.has(c))],
      keys,
      data.metrics ? "No units counted in this period." : "No usage metrics: aifinops import metrics FILE (docs/import.md).",
      titles
    );
    $("#units-table").dataset.query = query;

    const list = $("#units-formulas");
    list.textContent = "";
    for (const f of figures) {
      const dt = document.createElement("dt");
      dt.textContent = "$ per " + f.per + " (" + f.column + ")";
      const dd = document.createElement("dd");
      dd.textContent = f.formula;
      list.append(dt, dd);
    }
    listNotes($("#units-notes"), data.notes || []);
  }

  // ---------------------------------------------------------------- runs
  const RUNS_DEFAULT = { outcome: "", experiment: "", period: "all" };
  const OUTCOME_COLORS = { finished: "#3a9d5d", running: "#2f6fb2", failed: "#c8453c", killed: "#e07b39", abandoned: "#8c98a6" };
  const LEDGER_TABLE = [
    "run_name", "experiment", "team", "outcome", "start", "end", "hours", "gpu_share",
    "effective_cost", "early_stop_at", "wasted_after_stop", "cost_basis",
  ];
  const EARLY_TABLE = [
    "source", "name", "experiment", "team", "model", "early_stop_at", "end", "effective_cost",
    "wasted_after_stop",
  ];

  async function runsPage() {
    const p = urlParams();
    const outcome = $("#runs-outcome");
    const experiment = $("#runs-experiment");
    const period = $("#period");
    await fillPeriods(period, p.get("period") || RUNS_DEFAULT.period);
    choose(outcome, p.get("outcome"), "");
    const wantedExperiment = p.get("experiment") || "";
    setOptions(experiment, [["", "All experiments"], ...(wantedExperiment ? [[wantedExperiment, wantedExperiment]] : [])], wantedExperiment);
    const load = async () => {
      const values = { outcome: outcome.value, experiment: experiment.value, period: period.value };
      const params = stateParams(values, {});
      writeUrl(stateParams(values, RUNS_DEFAULT));
      csvLink($("#runs-csv"), "/runs", params);
      const data = await latest("runs", () => api("/runs", params));
      if (!data) return;
      const names = data.experiment_names || [];
      setOptions(experiment, [["", "All experiments"], ...names.map((n) => [n, n])], experiment.value);
      drawRuns(data, params.toString());
    };
    for (const el of [outcome, experiment, period]) el.addEventListener("change", load);
    await load();
  }

  function drawRuns(data, query) {
    const split = data.by_outcome || [];
    const experiments = Array.from(new Set(split.map((r) => label(r.experiment))));
    const outcomes = Object.keys(OUTCOME_COLORS).filter((o) => split.some((r) => r.outcome === o));
    const el = $("#chart-runs");
    plot(
      el,
      outcomes.map((o) => ({
        type: "bar",
        name: o,
        x: experiments,
        y: experiments.map((x) => {
          const hit = split.find((r) => label(r.experiment) === x && r.outcome === o);
          return hit ? num(hit.effective_cost) : 0;
        }),
        marker: { color: OUTCOME_COLORS[o] },
        hovertemplate: "%{x} · " + o + ": $%{y:,.2f}<extra></extra>",
      })),
      {
        barmode: "stack",
        xaxis: { type: "category", automargin: true },
        yaxis: { title: { text: "effective cost" }, automargin: true },
        annotations: split.length
          ? []
          : [{ text: data.runs_imported ? "No runs match" : "No MLflow runs imported", showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5 }],
      }
    ).then(() => markDrawn(el, query));

    const rows = data.rows || [];
    renderTable($("#runs-table"), rows, LEDGER_TABLE, ["experiment", "team"],
      data.runs_imported ? "No runs match." : "No MLflow runs: aifinops import runs TRACKING-URI (docs/runs.md).");
    $("#runs-table").dataset.query = query;
    const stops = (data.early_stops || []).map((s) => Object.assign({}, s, { name: shortName(s.name) }));
    renderTable($("#runs-early"), stops, EARLY_TABLE, ["experiment", "team", "model"],
      "No run or training session kept going after it stopped improving.");
    renderTable($("#runs-experiments"), data.experiments || [], null, ["experiment"], "No runs.");
    const r = data.rule || {};
    listNotes($("#runs-notes"), [
      "Cost = the resource's cost × time overlap × the run's GPU share; unfinished runs end at " + A.when(data.as_of) + " UTC.",
      "Early stop: the first best " + r.metric + " (" + r.mode + ") followed by " + r.patience +
        " evaluations that do not improve on it by more than " + r.min_delta +
        "; wasted after stop is the cost from then to the run's end.",
      "Abandoned: RUNNING, but no metric for " + r.abandoned_after_hours + " hours.",
    ]);
  }

  // ---------------------------------------------------------------- GPU waste
  const WASTE_DEFAULT = { by: "host", period: "all", measure: "gpu_hours", resource: "" };
  const WASTE_STATES = ["idle", "zombie", "underused"];
  const MEASURE_TEXT = { gpu_hours: "GPU-hours", cost: "cost", energy_kwh: "energy (kWh)" };
  const MAX_GROUPS = 40;

  async function wastePage() {
    const p = urlParams();
    const by = $("#waste-by");
    const measure = $("#waste-measure");
    const resource = $("#waste-resource");
    const period = $("#period");
    await fillPeriods(period, p.get("period") || WASTE_DEFAULT.period);
    choose(by, p.get("by"), WASTE_DEFAULT.by);
    choose(measure, p.get("measure"), WASTE_DEFAULT.measure);
    let wantedResource = p.get("resource") || "";
    let shown = null;
    const state = () => stateParams(
      { by: by.value, period: period.value, measure: measure.value, resource: resource.value || wantedResource },
      WASTE_DEFAULT
    );
    const timeline = async () => {
      if (!resource.value) return;
      const params = new URLSearchParams({ resource: resource.value, period: period.value });
      const data = await latest("segments", () => api("/waste/segments", params));
      if (data) drawTimeline(data, params.toString());
    };
    const load = async () => {
      const params = new URLSearchParams({ by: by.value, period: period.value });
      writeUrl(state());
      csvLink($("#waste-csv"), "/waste", params);
      const data = await latest("waste", () => api("/waste", params));
      if (!data) return;
      shown = data;
      const options = (data.resources || []).map((r) => [
        r.resource, shortName(r.resource) + " · " + r.gpus + " GPU" + (r.gpus === 1 ? "" : "s"), r.resource,
      ]);
      setOptions(resource, options, resource.value || wantedResource);
      wantedResource = "";
      writeUrl(state());
      drawWaste(data, measure.value, state().toString());
      await timeline();
    };
    for (const el of [by, period]) el.addEventListener("change", load);
    measure.addEventListener("change", () => {
      writeUrl(state());
      if (shown) drawWaste(shown, measure.value, state().toString());
    });
    resource.addEventListener("change", () => {
      writeUrl(state());
      timeline();
    });
    await load();
  }

  /* The readable end of a resource id (an ARN's or a URL path's last part). */
  function shortName(id) {
    const text = String(id);
    const last = text.split(/[/:]/).filter(Boolean).pop() || text;
    return last === text ? text : last;
  }

  function drawWaste(data, m, query) {
    const dims = data.by || [];
    const rows = data.rows || [];
    const totals = data.totals || [];
    const tiles = $("#waste-totals");
    tiles.textContent = "";
    for (const t of totals) {
      const tile = document.createElement("div");
      tile.className = "kpi state-" + t.state;
      const name = document.createElement("span");
      name.className = "kpi-label";
      name.textContent = t.state + (WASTE_STATES.includes(t.state) ? " (waste)" : "");
      const value = document.createElement("span");
      value.className = "kpi-value";
      value.textContent = A.cell("gpu_hours", t.gpu_hours) + " GPU-h";
      const more = document.createElement("span");
      more.className = "kpi-label";
      more.textContent = A.percent(num(t.share_pct) === null ? null : num(t.share_pct) / 100) + " · $" +
        A.money(t.cost) + " · " + A.cell("energy_kwh", t.energy_kwh) + " kWh";
      tile.append(name, value, more);
      tiles.appendChild(tile);
    }

    const sums = new Map();
    for (const r of rows) {
      const g = groupLabel(r, dims);
      sums.set(g, (sums.get(g) || 0) + (num(r[m]) || 0));
    }
    const groups = Array.from(sums.keys()).sort((a, b) => sums.get(b) - sums.get(a)).slice(0, MAX_GROUPS);
    if (dims.includes("day")) groups.sort();
    const el = $("#chart-waste");
    plot(
      el,
      WASTE_STATES.map((s) => ({
        type: "bar",
        name: s,
        x: groups,
        y: groups.map((g) => rows.filter((r) => r.state === s && groupLabel(r, dims) === g)
          .reduce((sum, r) => sum + (num(r[m]) || 0), 0)),
        marker: { color: A.STATE_COLORS[s] },
      })),
      {
        barmode: "stack",
        xaxis: { type: "category", automargin: true },
        yaxis: { title: { text: MEASURE_TEXT[m] || words(m) }, automargin: true },
        legend: { orientation: "h", x: 0, y: 1.12 },
        margin: { t: 40, r: 16, b: 16, l: 72 },
        annotations: data.telemetry
          ? []
          : [{ text: "No GPU telemetry imported", showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5 }],
      }
    ).then(() => markDrawn(el, query));
    $("#waste-title").textContent = "Wasted " + (MEASURE_TEXT[m] || words(m)) + " by " + dims.map(words).join(", ") + " · " + data.period;
    renderTable($("#waste-table"), rows, data.columns, dims,
      data.telemetry ? "No idle, zombie or under-used GPU-hours in this period." : "No GPU telemetry: aifinops import telemetry FILE, or aifinops collect gpu.");
    $("#waste-table").dataset.query = query;
    renderTable($("#waste-thresholds"), data.thresholds || [], ["name", "value", "meaning"]);
    listNotes($("#waste-notes"), data.notes || []);
  }

  /* State by time per GPU: one horizontal bar per segment, from its start to its end. */
  function drawTimeline(data, query) {
    const segments = data.segments || [];
    const gpuOf = (s) => (s.host || "") + " · GPU " + (s.gpu_index === null || s.gpu_index === undefined ? s.gpu_uuid : s.gpu_index);
    const gpus = Array.from(new Set(segments.map(gpuOf))).sort();
    const traces = A.STATES.map((state) => {
      const mine = segments.filter((s) => s.state === state);
      return {
        type: "bar",
        orientation: "h",
        name: state,
        y: mine.map(gpuOf),
        base: mine.map((s) => s.start),
        x: mine.map((s) => Date.parse(s.end) - Date.parse(s.start)),
        customdata: mine.map((s) => [A.when(s.start), A.when(s.end), num(s.mean_util_pct), num(s.gpu_hours), num(s.cost)]),
        hovertemplate: "%{y}<br>" + state + " %{customdata[0]} – %{customdata[1]}<br>utilisation %{customdata[2]:.1f}%" +
          "<br>%{customdata[3]:,.2f} GPU-h · $%{customdata[4]:,.2f}<extra></extra>",
        marker: { color: A.STATE_COLORS[state], line: { width: 0 } },
      };
    });
    const el = $("#chart-timeline");
    el.style.height = Math.max(260, 26 * gpus.length + 120) + "px";
    plot(el, traces, {
      barmode: "overlay",
      showlegend: true,
      xaxis: { type: "date", automargin: true },
      yaxis: { type: "category", categoryorder: "array", categoryarray: gpus.slice().reverse(), automargin: true },
      legend: { orientation: "h", y: 1.08 },
      margin: { t: 40, r: 16, b: 40, l: 72 },
    }).then(() => markDrawn(el, query));
    const note = $("#timeline-note");
    note.textContent = data.truncated
      ? "Showing the first " + segments.length + " of " + data.count + " segments."
      : segments.length + " segments of " + gpus.length + " GPU(s).";
  }

  A.pages.units = unitsPage;
  A.pages.runs = runsPage;
  A.pages.waste = wastePage;
})();
