// ExplainStream live audit page: the feed over SSE, one event's heatmaps, trends and alerts.
// Everything it loads comes from the dashboard's own server.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const state = { events: [], matching: null, received: 0, selected: null, detail: null, view: "tokens", info: null, known: { models: new Set(), applications: new Set(), tenants: new Set(), segments: new Set() }, charts: {} };
  const FEED_MAX = 500;
  const TRENDS_REFRESH_MS = 5000;
  const REDACTED = "▒";

  // Diverging blue–red scale: blue for negative, red for positive, neutral at 0; sign also in words.
  const NEG = [33, 102, 172], POS = [178, 24, 43];
  function neutral() { return getComputedStyle(document.documentElement).getPropertyValue("--neutral").split(",").map(Number); }
  function color(t) {
    const v = Math.max(-1, Math.min(1, Number.isFinite(t) ? t : 0)), end = v < 0 ? NEG : POS, n = neutral(), a = Math.abs(v);
    return "rgb(" + [0, 1, 2].map((i) => Math.round(n[i] + (end[i] - n[i]) * a)).join(",") + ")";
  }
  function sign(x) { return x > 0 ? "positive (raises the response's log-probability)" : x < 0 ? "negative (lowers it)" : "zero"; }
  function num(x, d) { return x === null || x === undefined ? "n/a" : (typeof x === "string" ? x : x.toFixed(d === undefined ? 4 : d)); }
  // A vocabulary piece as shown: ▁ is a space, the newline byte a ↵ (other byte pieces are read through their group, below).
  function piece(text) { return text === null || text === undefined ? REDACTED : text.replace(/▁/g, " ").replace(/<0x0A>/g, "↵"); }
  const BYTE_PIECE = /^<0x[0-9A-Fa-f]{2}>$/;
  // A group's text as shown (the server groups tokens as the CLI does: the tokens of one character, byte pieces or
  // the code points of one grapheme such as 👩‍💻, are one group).
  function groupText(g, tokens) {
    if (g.text === null || g.text === undefined) return REDACTED;
    if (g.kind === "LINE_BREAK") return "↵".repeat(Math.max(1, g.text.length));
    if (g.first === g.last && !BYTE_PIECE.test(tokens[g.first].text || "")) return piece(tokens[g.first].text);
    return g.text;
  }
  // One token's label in per-token views (response table, matrix): a token of a character shows the character it helps spell.
  function tokenLabel(groups, tokens, i) {
    const g = groups.find((x) => x.first <= i && i <= x.last);
    if (!g || (g.first === g.last && !BYTE_PIECE.test(tokens[i].text || ""))) return piece(tokens[i].text);
    return g.first === g.last ? groupText(g, tokens) : groupText(g, tokens) + " (" + piece(tokens[i].text) + ", token " + (i - g.first + 1) + "/" + (g.last - g.first + 1) + ")";
  }
  // Text as shown: the bidirectional embeddings, overrides, isolates and marks, which would reorder
  // what follows them (a U+202E in a segment's name made its "23%" read "%32"), and the line and
  // paragraph separators, spelled as \u202e (as the CLI does); other controls but newline and tab as \xNN.
  const LAYOUT = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C\u2028\u2029]|[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g;
  function shown(text) {
    return String(text).replace(LAYOUT, (c) => { const code = c.charCodeAt(0); return code < 0x100 ? "\\x" + code.toString(16).padStart(2, "0") : "\\u" + code.toString(16).padStart(4, "0"); });
  }
  // Attributes people read are shown; those the page reads back (values, ids, links) keep the text as it is.
  const READ = new Set(["title", "aria-label", "label"]);
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, READ.has(k) ? shown(attrs[k]) : attrs[k]);
    if (text !== undefined) e.textContent = shown(text);
    return e;
  }

  // ---- feed -------------------------------------------------------------------------------
  function filters() {
    const form = new FormData($("filters")), out = {};
    for (const [k, v] of form.entries()) if (String(v).trim() !== "") out[k] = String(v).trim();
    return out;
  }
  function matches(e, f) {
    const m = e.metadata || {};
    if (f.model && e.model_id !== f.model) return false;
    if (f.application && m.application !== f.application) return false;
    if (f.tenant && m.tenant !== f.tenant) return false;
    if (f.method && e.method !== f.method) return false;
    if (f.segment && e.top_segment !== f.segment) return false;
    if (f.q) { const q = f.q.toLowerCase(); if (!((e.response_text || "").toLowerCase().includes(q) || (e.prompt_text || "").toLowerCase().includes(q))) return "server"; }
    return true;
  }
  function remember(e) {
    const k = state.known, m = e.metadata || {};
    const add = (set, v, list) => { if (v && !set.has(v)) { set.add(v); if (list) $(list).appendChild(el("option", { value: v, label: v })); else $("f-model").appendChild(el("option", { value: v }, v)); } };
    add(k.models, e.model_id, null); add(k.applications, m.application, "applications"); add(k.tenants, m.tenant, "tenants"); add(k.segments, e.top_segment, "segments");
  }
  function feedItem(e) {
    const li = el("li"), b = el("button", { type: "button", "data-event-id": e.event_id, "aria-current": String(state.selected === e.event_id) });
    const top = el("div", { class: "feed-top" });
    top.appendChild(el("span", { class: "feed-id" }, e.event_id));
    if (e.delta_warning) top.appendChild(el("span", { class: "badge", title: "relative delta over the threshold" }, "delta " + num(e.relative_delta, 3)));
    b.appendChild(top);
    const m = e.metadata || {};
    b.appendChild(el("div", { class: "feed-meta" }, [when(e.event_time), e.model_id, e.method.toLowerCase().replace(/_/g, " "), e.top_segment ? "top: " + e.top_segment : "", m.application || "", m.tenant || ""].filter(Boolean).join(" · ")));
    b.appendChild(el("div", { class: "feed-text" }, e.flags && e.flags.redacted ? "redacted: no text published" : (e.response_text || "")));
    b.addEventListener("click", () => select(e.event_id, true));
    li.appendChild(b);
    return li;
  }
  // The entries the feed shows: unfiltered, the page's own buffer of the newest explanations; filtered,
  // the server's answer (the newest matches of all the dashboard keeps, which may be older than every
  // entry of that buffer) with the matching live arrivals since, one entry per event id.
  function feedEntries(f) {
    if (state.matching === null) return state.events;
    const byId = new Map(state.matching.map((e) => [e.event_id, e]));
    state.events.forEach((e) => {
      const held = byId.get(e.event_id);
      if (held && held.seq >= e.seq) return;
      // The newest explanation of an event decides whether it matches: one re-explained by a replay
      // with another method leaves the filter on the first method.
      if (matches(e, f) === true) byId.set(e.event_id, e); else if (held && matches(e, f) === false) byId.delete(e.event_id);
    });
    return [...byId.values()].sort((a, b) => b.seq - a.seq);
  }
  function renderFeed() {
    const list = $("feed"), f = filters();
    list.replaceChildren();
    let shown = 0;
    for (const e of feedEntries(f)) {
      if (state.matching === null && matches(e, f) !== true) continue;
      list.appendChild(feedItem(e)); shown++;
    }
    $("feed-count").textContent = shown + " shown";
  }
  // One entry per event id, its newest explanation: a replay re-explains an event under the same id.
  function newestPerId(events, into) {
    const byId = new Map(into.map((e) => [e.event_id, e]));
    events.forEach((e) => { const held = byId.get(e.event_id); if (!held || held.seq <= e.seq) byId.set(e.event_id, e); });
    return [...byId.values()].sort((a, b) => b.seq - a.seq);
  }
  async function loadFeed() {
    const f = filters(), params = new URLSearchParams(Object.assign({ limit: String(FEED_MAX) }, f));
    const answer = await getJson("/api/events?" + params);
    // Answers can come back out of order: one for filters no longer set (an unfiltered answer after
    // the next filter's) would replace the shown filter's matches. A hostile test read "0 shown".
    if (!answer || JSON.stringify(filters()) !== JSON.stringify(f)) return;
    answer.events.forEach(remember);
    if (Object.keys(f).length > 0) {
      // Kept apart from the buffer: merged into it and cut to its size, matches older than the
      // newest arrivals were all cut, and the page read "0 shown" for traffic the dashboard holds.
      state.matching = newestPerId(answer.events, []);
    } else {
      state.matching = null;
      const held = new Map(state.events.map((e) => [e.event_id, e.seq]));
      state.received += answer.events.filter((e) => !(held.get(e.event_id) >= e.seq)).length;
      state.events = newestPerId(answer.events, state.events).slice(0, FEED_MAX * 2);
    }
    renderFeed();
    status();
  }
  // A text search the page cannot decide itself asks the server, once per burst of arrivals, not once each.
  let feedTimer = null;
  function scheduleFeed() { if (!feedTimer) feedTimer = setTimeout(() => { feedTimer = null; loadFeed(); }, 500); }
  // The time of day, with the date where it is not today's: an event of 1970 (seconds sent as
  // milliseconds) or of yesterday must not read as one of today.
  function when(ms) {
    const d = new Date(ms);
    return d.toDateString() === new Date().toDateString() ? d.toLocaleTimeString() : d.toLocaleDateString() + " " + d.toLocaleTimeString();
  }
  function listen() {
    const source = new EventSource("/api/stream");
    let dropped = false;
    source.addEventListener("open", () => { if (dropped) { dropped = false; rejoin(); } status(); });
    source.addEventListener("error", () => {
      dropped = true;
      const line = $("status");
      // The feed retries every few seconds; where the server itself does not answer, the page says that, not this.
      if (line.dataset.state === "dashboard-unreachable") return;
      line.dataset.state = "feed-disconnected"; line.classList.add("trouble"); line.textContent = "feed disconnected; retrying…";
    });
    source.addEventListener("explanation", (message) => {
      const e = JSON.parse(message.data);
      if (state.events.some((x) => x.seq >= e.seq && x.event_id === e.event_id)) return;
      state.received++;
      // Explained again (a replay): the newer explanation takes the older one's place at the top.
      const again = state.events.some((x) => x.event_id === e.event_id);
      state.events = state.events.filter((x) => x.event_id !== e.event_id);
      state.events.unshift(e); remember(e);
      if (state.events.length > FEED_MAX * 2) state.events.length = FEED_MAX * 2;
      const f = filters();
      const m = matches(e, f);
      // A match joins the filter's answer too, so that it stays listed once the buffer has moved past
      // it; an older explanation of the same event leaves it, whether or not the newer one matches.
      let listed = again;
      if (state.matching !== null) {
        listed = listed || state.matching.some((x) => x.event_id === e.event_id);
        state.matching = state.matching.filter((x) => x.event_id !== e.event_id);
        if (m === true) state.matching = newestPerId([e], state.matching).slice(0, FEED_MAX * 2);
      }
      if (m === "server") scheduleFeed();
      else if (listed) renderFeed();
      else if (m === true) {
        const list = $("feed");
        list.prepend(feedItem(e));
        if (list.children.length > FEED_MAX * 2) list.lastElementChild.remove(); // as many entries as the page holds
        $("feed-count").textContent = list.children.length + " shown";
      }
      if (again && state.selected === e.event_id) select(e.event_id, false);
      scheduleTrends();
      status();
    });
  }
  // The stream sends what arrives while the page listens: what arrived while it was cut off is
  // read again. A dashboard started again numbers its entries from 0 again (another instance), so
  // the page starts its feed afresh there, as a reload would, rather than sort two runs' numbers.
  async function rejoin() {
    const info = await getJson("/api/info");
    if (info) adopt(info);
    await loadFeed();
  }
  // Takes the dashboard's info; true where it is another run than the feed's (read every few seconds,
  // the info may show the restart before the stream reconnects), whose feed then starts afresh.
  function adopt(info) {
    const restarted = state.info !== null && info.instance !== state.info.instance;
    if (restarted) { state.events = []; state.matching = null; state.received = 0; }
    state.info = info;
    return restarted;
  }
  // "live" only while the broker and the schema registry answer the dashboard (/api/info, read every
  // few seconds): a reader whose broker is gone polls nothing, without an error, and the page would
  // otherwise go on saying "live" over a feed that cannot move.
  function trouble(info) {
    if (!info) return null;
    const at = when;
    if (info.broker === "unreachable") return { state: "broker-unreachable", text: "broker unreachable (last reached " + at(info.broker_last_reached) + "): nothing new arrives until it answers" };
    if (info.broker === "not reached yet") return { state: "connecting", text: "connecting to the broker…" };
    if (info.registry === "unavailable") return { state: "registry-unavailable", text: "schema registry unavailable since " + at(info.registry_unavailable_since) + ": new explanations wait until it answers" };
    return null;
  }
  function status() {
    const received = state.received, t = trouble(state.info), line = $("status");
    line.dataset.state = t ? t.state : "live";
    line.classList.toggle("trouble", t !== null);
    line.textContent = (t ? t.text : "live") + " · " + (state.info ? "topic " + shown(state.info.topic) + " · " : "") + received + " events received · delta warning above " + (state.info ? state.info.delta_warn_above : "");
  }
  async function loadInfo() {
    const info = await getJson("/api/info");
    if (info) { if (adopt(info)) loadFeed(); status(); }
  }

  // ---- one event ------------------------------------------------------------------------------
  async function select(id, reveal) {
    state.selected = id;
    document.querySelectorAll("#feed button").forEach((b) => b.setAttribute("aria-current", String(b.dataset.eventId === id)));
    const d = await getJson("/api/events/" + encodeURIComponent(id), () => renderMissing(id));
    if (!d) { if (reveal && state.detail === null) revealDetail(); return; }
    state.detail = d;
    renderDetail();
    if (reveal) revealDetail();
  }
  // An id the dashboard holds no explanation of (a dead-letter alert's example, an event past --keep):
  // said in the detail, which is emptied, not in the status line, which says whether the page is live.
  function renderMissing(id) {
    state.detail = null;
    $("detail").hidden = false;
    $("d-id").textContent = shown(id);
    $("d-facts").textContent = "No explanation of this event is held here: it may be a dead letter (its reason is on the dead-letter topic),"
      + " or older than the newest explanations this dashboard keeps (--keep).";
    $("d-delta").className = ""; $("d-delta").textContent = "";
    $("d-redacted").hidden = true;
    ["heatmap", "segment-bar", "legend", "metadata"].forEach((name) => $(name).replaceChildren());
    $("response").tBodies[0].replaceChildren();
    $("matrix-block").hidden = true;
  }
  // At a phone's width the detail is below the whole feed: a tap would seem to do nothing, its title
  // at most peeking in at the bottom. Bring it up when it starts in the lower half of the screen or
  // further down (or is above the top); beside the feed, on a wide screen, the page stays put.
  function revealDetail() {
    const r = $("detail").getBoundingClientRect();
    if (r.top > window.innerHeight / 2 || r.bottom < 0) $("detail").scrollIntoView({ block: "start" });
  }
  function renderDetail() {
    const d = state.detail;
    $("detail").hidden = false;
    $("d-id").textContent = shown(d.event_id);
    $("d-facts").textContent = shown([d.model_id, d.method.toLowerCase().replace(/_/g, " "), d.steps + " steps", d.integration.toLowerCase(), "baseline " + d.baseline, d.normalization + " normalization",
      "latency " + num(d.attribution_latency_ms, 0) + " ms", "entropy " + num(d.attribution_entropy, 3), d.flags.redacted ? "redacted" : "",
      d.replay_id ? "replay " + d.replay_id : "", d.explanations_held > 1 ? "explained " + d.explanations_held + " times (the newest shown)" : "", d.flags.prompt_truncated ? "prompt truncated (" + d.flags.prompt_tokens_dropped + " tokens dropped)" : ""].filter(Boolean).join(" · "));
    const box = $("d-delta");
    const rel = d.relative_delta;
    if (d.delta_warning) {
      box.className = "warning";
      box.textContent = "⚠ Relative convergence delta " + num(rel, 4) + " is over the threshold " + d.delta_warn_above + ": the scores do not add up to the change in log-probability they explain (sequence delta " + num(d.sequence_delta) + "). Use more steps before trusting this heatmap.";
    } else {
      box.className = "ok";
      box.textContent = rel === null ? "No baseline (gradient method): completeness does not apply; sequence delta " + num(d.sequence_delta) + "."
        : "Relative convergence delta " + num(rel, 4) + " (threshold " + d.delta_warn_above + "); sequence delta " + num(d.sequence_delta) + ".";
    }
    $("d-redacted").hidden = !d.flags.redacted;
    renderHeatmap(); renderSegments(); renderResponse(); renderMatrix(); renderMetadata();
  }
  function cell(text, raw, normalized, label, fixed) {
    const span = el("span", { class: "cell" + (Math.abs(normalized) > 0.55 ? " strong" : "") + (fixed ? " fixed" : ""), tabindex: "0" });
    span.style.background = color(normalized);
    span.dataset.tip = (label ? shown(label) + "\n" : "") + "raw " + num(raw) + " · normalized " + num(normalized, 3) + "\n" + sign(raw) + (fixed ? "\nkept fixed (not attributed)" : "");
    span.setAttribute("aria-label", shown(typeof text === "string" ? text : text.textContent) + ": " + span.dataset.tip.replace(/\n/g, ", "));
    if (typeof text === "string") span.textContent = shown(text); else span.appendChild(text);
    return span;
  }
  function renderHeatmap() {
    const d = state.detail, map = $("heatmap");
    map.replaceChildren();
    map.dataset.view = state.view;
    if (state.view === "tokens") {
      // One cell per group: a token, or the tokens of one character, scored by their sum (as the CLI's heatmap).
      d.prompt_groups.forEach((g) => {
        const t = d.prompt_tokens[g.first], span = g.first === g.last ? "token " + g.first : "tokens " + g.first + "–" + g.last + " (" + d.prompt_tokens.slice(g.first, g.last + 1).map((x) => x.text).join("") + ")";
        const c = cell(groupText(g, d.prompt_tokens), g.score, g.score_normalized, span + (d.segments.length ? " · " + d.segments[t.segment].name : ""), !g.attributed);
        c.dataset.first = g.first; c.dataset.last = g.last;
        map.appendChild(c);
      });
    } else if (state.view === "words") {
      d.words.forEach((w, i) => { map.appendChild(cell(w.text === null ? REDACTED : w.text, w.score, w.score_normalized, "word " + i + " (tokens " + w.token_start + "–" + (w.token_end - 1) + ")")); map.appendChild(document.createTextNode(" ")); });
    } else {
      const max = Math.max(1e-12, ...d.segments.map((s) => Math.abs(s.score)));
      d.segments.forEach((s, i) => {
        const text = d.prompt_groups.filter((g) => d.prompt_tokens[g.first].segment === i).map((g) => groupText(g, d.prompt_tokens)).join("");
        const content = el("span"); content.appendChild(el("span", { class: "seg-name" }, s.name)); content.appendChild(document.createTextNode(shown(text)));
        map.appendChild(cell(content, s.score, s.score / max, "segment " + s.name + " (" + s.kind.toLowerCase() + ") · share " + (100 * s.share).toFixed(1) + "%"));
      });
    }
    const legend = $("legend");
    legend.replaceChildren(el("span", {}, "− negative"), el("span", { class: "bar", role: "img", "aria-label": "blue is negative, red is positive, pale is near zero" }), el("span", {}, "+ positive"),
      el("span", {}, state.view === "segments" ? "(segment score / largest |score|)" : "(normalized score; hover a cell for raw and sign)"));
  }
  const KIND_COLORS = { SYSTEM: "#6f42c1", USER: "#0b5cad", ASSISTANT: "#1a7f37", TEMPLATE: "#6e7781", PROMPT: "#0b5cad", SPAN: "#bc4c00", OTHER: "#bc4c00" };
  function renderSegments() {
    const d = state.detail, bar = $("segment-bar");
    bar.replaceChildren();
    const parts = d.segments.filter((s) => s.tokens > 0);
    bar.setAttribute("aria-label", shown(parts.map((s) => s.name + " " + (100 * s.share).toFixed(0) + "%").join(", ")));
    parts.forEach((s) => {
      const part = el("div", { tabindex: "0", title: s.name + " " + (100 * s.share).toFixed(1) + "%" });
      part.appendChild(el("span", {}, s.name + " " + (100 * s.share).toFixed(0) + "%"));
      part.style.flex = String(Math.max(s.share, 0.002));
      part.style.background = KIND_COLORS[s.kind] || "#57606a";
      part.dataset.tip = shown(s.name) + " (" + s.kind.toLowerCase() + "): share " + (100 * s.share).toFixed(1) + "% of attribution mass · score " + num(s.score) + " · " + s.tokens + " tokens\n" + sign(s.score);
      bar.appendChild(part);
    });
    fitLabels(bar);
  }
  // A label cut to "emplate 18" misreads: one that does not fit its part is hidden; the part's
  // title, its tip and the bar's aria-label still name it.
  function fitLabels(bar) {
    for (const part of bar.children) {
      const label = part.firstElementChild;
      if (!label) continue;
      label.hidden = false;
      label.hidden = label.offsetWidth > part.clientWidth;
    }
  }
  function renderResponse() {
    const d = state.detail, body = $("response").tBodies[0];
    body.replaceChildren();
    d.response_tokens.forEach((t, i) => {
      const row = el("tr");
      row.appendChild(el("td", {}, String(i)));
      row.appendChild(el("td", { class: "tok" }, tokenLabel(d.response_groups, d.response_tokens, i)));
      row.appendChild(el("td", {}, num(d.response_logprobs[i], 3)));
      row.appendChild(el("td", {}, d.baseline_logprobs.length ? num(d.baseline_logprobs[i], 3) : "n/a"));
      row.appendChild(el("td", {}, d.convergence_delta.length ? num(d.convergence_delta[i], 4) : "n/a"));
      body.appendChild(row);
    });
  }
  function renderMatrix() {
    const d = state.detail, table = $("matrix");
    table.replaceChildren();
    $("matrix-block").hidden = !d.token_attr;
    if (!d.token_attr) return;
    const head = el("thead"), hr = el("tr");
    hr.appendChild(el("th", {}, ""));
    d.prompt_tokens.forEach((t, p) => hr.appendChild(el("th", { scope: "col" }, tokenLabel(d.prompt_groups, d.prompt_tokens, p))));
    head.appendChild(hr); table.appendChild(head);
    const body = el("tbody");
    d.token_attr.forEach((row, r) => {
      const tr = el("tr");
      tr.appendChild(el("th", { scope: "row" }, tokenLabel(d.response_groups, d.response_tokens, r)));
      row.forEach((raw, p) => {
        const norm = d.token_attr_normalized[r][p];
        const td = el("td", { class: "m", tabindex: "-1" });
        td.style.background = color(norm);
        td.dataset.tip = "response " + r + " " + shown(tokenLabel(d.response_groups, d.response_tokens, r)) + " × prompt " + p + " " + shown(tokenLabel(d.prompt_groups, d.prompt_tokens, p)) + "\nraw " + num(raw) + " · normalized " + num(norm, 3) + "\n" + sign(raw);
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    table.appendChild(body);
  }
  function renderMetadata() {
    const d = state.detail, list = $("metadata");
    list.replaceChildren();
    const rows = Object.assign({ event_time: new Date(d.event_time).toISOString(), processing_time: new Date(d.processing_time).toISOString(), source_model: d.source_model,
      model_fingerprint: d.model_fingerprint, replay_id: d.replay_id || "", batch_size: d.batch_size }, d.metadata);
    for (const k of Object.keys(rows)) { list.appendChild(el("dt", {}, k)); list.appendChild(el("dd", {}, String(rows[k]))); }
  }

  // ---- trends and alerts ---------------------------------------------------------------------
  let trendTimer = null;
  function scheduleTrends() { if (!trendTimer) trendTimer = setTimeout(() => { trendTimer = null; loadTrends(); }, 1000); }
  // uPlot gives a y axis a fixed 50 px, which cuts the left of "12,000" (ms): the room is the
  // widest label's width in the axis font, the tick and the gap. The labels depend on the room, so
  // uPlot asks again; the first fit stands.
  function axisRoom(u, values, axisIndex, cycle) {
    const axis = u.axes[axisIndex];
    if (cycle > 1) return axis._size;
    u.ctx.font = axis.font[0];
    const widest = Math.max(0, ...(values || []).map((v) => u.ctx.measureText(String(v)).width)) / devicePixelRatio;
    return Math.max(50, Math.ceil(axis.ticks.size + axis.gap + widest + 2));
  }
  function chart(id, series, data) {
    const target = $(id), width = Math.max(280, target.clientWidth || 320);
    if (state.charts[id]) state.charts[id].destroy();
    const fg = getComputedStyle(document.body).color;
    const axis = { stroke: fg, grid: { stroke: "rgba(128,128,128,.2)" } };
    // One window would get a range of years from uPlot's default: give the time axis five minutes around it.
    const lo = Math.min(...data[0]), hi = Math.max(...data[0]);
    const xRange = lo === hi ? [lo - 300, hi + 300] : [lo, hi];
    // Every series is a count, share, delta or duration: from 0, so that a lone point does not get a range of its own rounding.
    const yRange = (u, min, max) => [Math.min(0, min), max > 0 ? max * 1.15 : 1];
    state.charts[id] = new uPlot({ width: width, height: 170, series: [{}].concat(series), axes: [axis, Object.assign({ size: axisRoom }, axis)],
      scales: { x: { time: true, auto: false, range: xRange }, y: { range: yRange } } }, data, target);
  }
  // A window without traffic is not published (nor counted in memory): drawn straight from its
  // neighbours, the line would invent values for the time in between. One row of nulls at the
  // first missing window's start (where the next start is more than a window length on) makes
  // uPlot end the line there and start a new one after. Returns uPlot's columns: x, then one per
  // value function.
  function columnsWithGaps(windows, valueFunctions) {
    const rows = [];
    windows.forEach((r, i) => {
      const previous = windows[i - 1];
      if (previous && r.start - previous.start > previous.end - previous.start) rows.push([previous.end / 1000].concat(valueFunctions.map(() => null)));
      rows.push([r.start / 1000].concat(valueFunctions.map((f) => f(r))));
    });
    return rows.length ? rows[0].map((_, c) => rows.map((row) => row[c])) : [[]].concat(valueFunctions.map(() => []));
  }
  const SERIES_COLORS = ["#0b5cad", "#bc4c00", "#1a7f37", "#6f42c1", "#6e7781", "#cf222e"];
  // The trends come from the service's statistics topic (source "topic": windows as published, the
  // groups of each window added up in "totals"); until it has a window, from the events in memory,
  // labelled as a fallback with the reason.
  async function loadTrends() {
    const stats = await getJson("/api/stats");
    if (stats) {
      const fromTopic = stats.source === "topic", all = fromTopic ? stats.totals : stats.windows;
      // A window that starts more than a window ahead of this machine's clock (an event may be stamped
      // up to a day ahead and is valid) is left out of the charts, and said: one such window stretched
      // the time axis over a day, every other window a dot at its left edge (helper-78).
      const aheadOfNow = Date.now() + (stats.window_ms || 60000), w = all.filter((r) => r.start <= aheadOfNow), ahead = all.length - w.length;
      $("trends").hidden = false;
      $("trends").dataset.source = stats.source;
      $("trends-source").textContent = fromTopic ? "from the statistics topic " + stats.topic : "fallback: computed in this dashboard";
      $("trends-source").className = fromTopic ? "source" : "source fallback";
      $("trends-note").textContent = fromTopic
        ? "Windows the service published on " + stats.topic + ": " + stats.windows.length + " window × group records of " + (stats.window_ms ? stats.window_ms / 1000 + " s" : "its stats.window") + " by event time (" + stats.note + ")."
        : "Not from the statistics topic: " + (stats.fallback || "the dashboard runs without it") + ". Trends " + stats.note + "; windows of " + stats.window_ms / 1000 + " s by event time.";
      if (ahead) $("trends-note").textContent += " " + ahead + (ahead === 1 ? " window starts" : " windows start") + " ahead of this machine's clock (events stamped up to a day ahead are valid) and " + (ahead === 1 ? "is" : "are") + " left out of the charts; /api/stats has " + (ahead === 1 ? "it" : "them") + ".";
      $("trends-empty").hidden = w.length > 0;
      $("trends").querySelector(".charts").hidden = w.length === 0;
      if (w.length) {
        // From the topic, the events skipped to stay within the budget beside the explained ones: the share nobody explained.
        chart("chart-events", [{ label: "events", stroke: SERIES_COLORS[0], width: 2 }].concat(fromTopic ? [{ label: "skipped", stroke: SERIES_COLORS[1], width: 2 }] : []),
          columnsWithGaps(w, [(r) => r.events].concat(fromTopic ? [(r) => r.skipped ?? 0] : [])));
        const kinds = [...new Set(w.flatMap((r) => Object.keys(r.segment_share_mean)))].sort();
        chart("chart-shares", kinds.map((k, i) => ({ label: k, stroke: SERIES_COLORS[i % SERIES_COLORS.length], width: 2 })), columnsWithGaps(w, kinds.map((k) => (r) => r.segment_share_mean[k] ?? null)));
        chart("chart-delta", [{ label: "mean", stroke: SERIES_COLORS[0], width: 2 }, { label: "max", stroke: SERIES_COLORS[1], width: 2 }], columnsWithGaps(w, [(r) => r.relative_delta_mean, (r) => r.relative_delta_max]));
        chart("chart-latency", [{ label: fromTopic ? "p50 (largest group)" : "p50", stroke: SERIES_COLORS[0], width: 2 }, { label: "max", stroke: SERIES_COLORS[1], width: 2 }], columnsWithGaps(w, [(r) => r.latency_ms_p50, (r) => r.latency_ms_max]));
      }
    }
    const alerts = await getJson("/api/alerts");
    if (alerts) {
      const fromTopic = alerts.source === "topic";
      $("alerts-panel").hidden = alerts.alerts.length === 0;
      $("alerts-panel").dataset.source = alerts.source;
      $("alerts-note").textContent = fromTopic ? "From the alerts topic " + alerts.topic + ": " + alerts.note + "."
        : "Not from the alerts topic: " + (alerts.fallback || "the dashboard runs without it") + ". Alerts " + alerts.note + ".";
      const list = $("alerts"); list.replaceChildren();
      alerts.alerts.forEach((a) => {
        const li = el("li", { class: a.severity });
        li.appendChild(el("strong", {}, a.rule.replace(/_/g, " ") + " "));
        li.appendChild(el("span", {}, when(a.window_start) + "–" + new Date(a.window_end).toLocaleTimeString() + ": " + a.message + ". Examples: "));
        // An empty id is said, as tail says it: a link of no text was a gap in the list (helper-78).
        a.example_event_ids.forEach((id) => { li.appendChild(el("a", { href: "#event=" + encodeURIComponent(id) }, id === "" ? "(empty id)" : id)); li.appendChild(document.createTextNode(" ")); });
        list.appendChild(li);
      });
    }
  }

  // ---- plumbing ------------------------------------------------------------------------------
  async function getJson(url, notFound) {
    let response;
    try {
      response = await fetch(url, { headers: { Accept: "application/json" } });
    } catch (e) {
      // The dashboard's own server is gone (stopped, restarting): say so, and try again on the next refresh.
      const line = $("status"); line.dataset.state = "dashboard-unreachable"; line.classList.add("trouble");
      line.textContent = "the dashboard server does not answer; retrying…";
      return null;
    }
    if (response.status === 404 && notFound) { notFound(); return null; }
    if (!response.ok) { $("status").textContent = url + ": " + response.status + " " + ((await response.json().catch(() => ({}))).error || ""); return null; }
    return response.json();
  }
  function tip(event) {
    const target = event.target.closest("[data-tip]"), box = $("tip");
    if (!target) { box.hidden = true; return; }
    box.textContent = target.dataset.tip; box.style.whiteSpace = "pre-line"; box.hidden = false;
    const r = target.getBoundingClientRect();
    box.style.left = Math.min(window.innerWidth - 330, r.left) + "px"; box.style.top = (r.bottom + 6) + "px";
  }
  function fromHash(reveal) { const m = /^#event=(.+)$/.exec(location.hash); if (m) select(decodeURIComponent(m[1]), reveal === true); }
  function keys(event) {
    if (event.target.closest("#feed") && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      const buttons = [...document.querySelectorAll("#feed button")], i = buttons.indexOf(document.activeElement);
      const next = buttons[Math.max(0, Math.min(buttons.length - 1, i + (event.key === "ArrowDown" ? 1 : -1)))];
      if (next) { next.focus(); event.preventDefault(); }
    }
  }
  function theme(dark) {
    document.documentElement.classList.toggle("dark", dark);
    $("theme").setAttribute("aria-pressed", String(dark)); $("theme").textContent = dark ? "Light mode" : "Dark mode";
    if (state.detail) renderDetail();
    loadTrends();
  }

  document.addEventListener("DOMContentLoaded", async () => {
    const dark = localStorage.getItem("explainstream.theme") ? localStorage.getItem("explainstream.theme") === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
    document.documentElement.classList.toggle("dark", dark);
    $("theme").setAttribute("aria-pressed", String(dark)); $("theme").textContent = dark ? "Light mode" : "Dark mode";
    $("theme").addEventListener("click", () => { const now = !document.documentElement.classList.contains("dark"); localStorage.setItem("explainstream.theme", now ? "dark" : "light"); theme(now); });
    $("filters").addEventListener("input", () => loadFeed());
    $("filters").addEventListener("submit", (e) => e.preventDefault());
    document.querySelectorAll("#views input").forEach((r) => r.addEventListener("change", () => { state.view = r.value; if (state.detail) renderHeatmap(); }));
    document.addEventListener("mouseover", tip); document.addEventListener("focusin", tip); document.addEventListener("keydown", keys);
    window.addEventListener("hashchange", () => fromHash(true)); // an alert's link, below the detail
    window.addEventListener("resize", () => fitLabels($("segment-bar")));
    state.info = await getJson("/api/info");
    listen();
    await loadFeed();
    status();
    loadTrends();
    // Windows on the statistics topic change without an explanation arriving (updates, the final record, alerts at close).
    setInterval(loadTrends, TRENDS_REFRESH_MS);
    setInterval(loadInfo, TRENDS_REFRESH_MS);
    fromHash();
  });
})();
