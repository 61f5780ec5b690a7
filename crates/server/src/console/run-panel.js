// One run as it happens and once it ended: status, live progress and steps while it runs
// (with Cancel), the approval it waits for, who decided, and its full answer.
import { h, api, message, statusBadge, when, shortId, isFinal, poll, can, busy, put } from "./lib.js";
import { resultsView, fields } from "./results.js";
import { approvalBox } from "./approval-box.js";

function progressLine(run) {
  const p = run.progress;
  if (!p || !p.items) return null;
  const of = p.total ? ` of ${p.total.toLocaleString()}` : "";
  return h("p", { class: "progress-line" },
    p.total ? h("progress", { max: String(p.total), value: String(p.items), "aria-label": "Items fetched" }) : null,
    ` ${p.items.toLocaleString()}${of} items · ${p.pages} ${p.pages === 1 ? "page" : "pages"}`);
}

/** One card per step; a loop as one card with its counts (from the record that sums it up,
 *  iteration -1) and the items the server kept: the first completed ones and the first
 *  failures, so a 20,000-item loop stays one card. */
function stepsList(run) {
  if (!run.steps.length) {
    const fetching = run.progress && run.progress.items;
    return h("p", { class: "muted" }, isFinal(run.status) ? "No step ran."
      : fetching ? `Fetching: ${run.progress.items.toLocaleString()} items so far.` : "No step has started yet.");
  }
  const groups = new Map();
  for (const s of run.steps) {
    if (!groups.has(s.step_id)) groups.set(s.step_id, []);
    groups.get(s.step_id).push(s);
  }
  return h("ol", { class: "flow", "aria-label": "Steps" }, [...groups.values()].map((records) => records.some((r) => r.iteration === -1) || records.length > 1 ? loopCard(records) : stepCard(records[0])));
}

function loopCard(records) {
  const summary = records.find((r) => r.iteration === -1);
  const items = records.filter((r) => r.iteration !== -1);
  const loop = summary && summary.output && summary.output.loop;
  const first = summary || items[0];
  // A loop still running has no summary yet: count the items recorded so far.
  const counts = loop
    ? { completed: loop.completed, failed: loop.failed, "left out by if": loop.skipped, "not run": loop.not_run }
    : items.reduce((c, r) => ({ ...c, [r.status]: (c[r.status] || 0) + 1 }), {});
  const total = loop ? loop.items : items.length;
  const status = summary ? summary.status : items.some((r) => r.status === "failed") ? "failed" : "running";
  const error = summary && summary.error ? summary.error : (items.find((r) => r.status === "failed") || {}).error;
  const said = Object.entries(counts).filter(([, n]) => n).map(([k, n]) => `${n.toLocaleString()} ${k.replace("_", " ")}`).join(", ");
  return h("li", { class: `step ${status}` },
    h("b", {}, first.step_id),
    first.operation ? h("div", { class: "mono" }, first.operation) : null,
    h("div", { class: "muted" }, `${total.toLocaleString()} ${total === 1 ? "item" : "items"}${said ? `: ${said}` : ""}${summary && summary.duration_ms != null ? ` · ${summary.duration_ms} ms` : ""}`),
    error ? h("div", { class: "status-failed" }, error) : null,
    items.length ? h("details", { class: "step-output" }, h("summary", {}, items.length < total ? `Items (${items.length} kept: the first completed and the first failures)` : "Items"),
      // Numbered as the run's errors number them ("item 3"): from 0.
      h("ul", { class: "iterations" }, items.map((r) => h("li", {}, `item ${r.iteration}: ${r.status.replace("_", " ")}${r.http_status ? ` · HTTP ${r.http_status}` : ""}${r.error ? ` — ${r.error}` : ""}`)))) : null);
}

function stepCard(s) {
  return h("li", { class: `step ${s.status}` },
    h("b", {}, s.step_id),
    s.operation ? h("div", { class: "mono" }, s.operation) : null,
    s.params && s.params.run_id ? h("a", { href: `#/runs/${encodeURIComponent(s.params.run_id)}` }, `Sub-run ${shortId(s.params.run_id)}`) : null,
    h("div", { class: "muted" }, `${s.status === "dry_run" ? "dry run (not sent)" : s.status}${s.http_status ? ` · HTTP ${s.http_status}` : ""}${s.duration_ms != null ? ` · ${s.duration_ms} ms` : ""}`),
    s.error ? h("div", { class: "status-failed" }, s.error) : null,
    // What the step gave (bounded by the server: big listings as counts and first items).
    s.output !== null && s.output !== undefined ? h("details", { class: "step-output" }, h("summary", {}, "Output"), h("pre", { class: "json" }, JSON.stringify(s.output, null, 2))) : null);
}

/** The steps in one line: how many, and how they went ("22 steps: 20 completed, 2 left out"). */
function stepsLine(run) {
  const last = new Map();
  for (const s of run.steps) if (s.iteration <= 0 || !last.has(s.step_id)) last.set(s.step_id, s.status);
  const words = { completed: "completed", failed: "failed", skipped: "left out", dry_run: "described (dry run)", running: "running", canceled: "canceled" };
  const counts = {};
  for (const st of last.values()) counts[st] = (counts[st] || 0) + 1;
  const said = Object.entries(counts).map(([k, n]) => `${n} ${words[k] || k.replace("_", " ")}`).join(", ");
  const ms = run.finished_at && run.started_at ? ` · ${((new Date(run.finished_at) - new Date(run.started_at)) / 1000).toFixed(1)} s` : "";
  return last.size ? `${last.size} ${last.size === 1 ? "step" : "steps"}: ${said}${ms}` : "Steps";
}

/** Query parameters that open the workflow's form with these inputs. */
export function inputsQuery(inputs) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(inputs || {})) {
    if (v === null || v === undefined) continue;
    q.set(k, typeof v === "object" ? JSON.stringify(v) : String(v));
  }
  return q.toString();
}

/** A live view of run `id`; `onSettled(run)` is called once when it ends or waits for
 *  approval. */
export function runPanel(id, { title = "Results", onSettled, controls = () => [], link = true } = {}) {
  const head = h("div", { class: "run-head" });
  const live = h("div", { "aria-live": "polite" });
  const approval = h("div");
  // The answer first; the steps fold into one line once the run has ended well (open while
  // it runs, and when it failed, to show where).
  const steps = h("div");
  const stepsSummary = h("summary", {}, "Steps");
  const stepsBox = h("details", { class: "steps-box", open: true }, stepsSummary, steps);
  const answer = h("div");
  const panel = h("section", { class: "run-panel", "aria-label": `Run ${shortId(id)}` }, head, live, approval,
    answer, h("h2", { class: "sr-only" }, "Steps"), stepsBox);
  let lastStatus = null;
  let lastSteps = null;
  let lastLive = null;
  let ended = false;
  let settled = false;

  // Redraw only what changed: a redraw would close the step output someone opened and
  // take the focus off Cancel.
  const render = async (run) => {
    const changed = run.status !== lastStatus;
    const by = run.requested_by ? `by ${run.requested_by}` : "";
    const forWhom = run.requested_for ? ` for ${run.requested_for}` : "";
    const cancel = !isFinal(run.status) && can("agent")
      ? h("button", { type: "button", class: "secondary danger", onclick: (e) => busy(e.currentTarget, async () => {
        try { await api("POST", `/api/v1/runs/${encodeURIComponent(id)}/cancel`); refresh(); }
        catch (err) { put(live, message("bad", err.message)); }
      }, "Canceling…") }, "Cancel run") : null;
    if (changed) put(head, h("p", { class: "row" },
      link ? h("a", { href: `#/runs/${encodeURIComponent(id)}`, class: "mono", title: id }, `Run ${shortId(id)}`) : h("b", {}, "Status"), statusBadge(run.status),
      run.dry_run ? h("span", { class: "badge" }, "dry run") : null,
      h("span", { class: "muted" }, `${by}${forWhom} · ${when(run.created_at)}`), cancel));
    const liveKey = JSON.stringify([run.status, run.progress, run.error, run.canceled_by]);
    if (liveKey !== lastLive) {
      lastLive = liveKey;
      put(live, 
        run.status === "queued" ? h("p", { role: "status" }, "Waiting for a free worker…") : null,
        run.status === "running" ? h("p", { role: "status" }, "Running…") : null,
        // Progress while it runs and once it completed; a failed run says what went wrong.
        ["failed", "canceled", "denied", "expired"].includes(run.status) ? null : progressLine(run),
        run.status === "canceled" && run.canceled_by ? message("bad", `Canceled by ${run.canceled_by} ${when(run.canceled_at)}`)
          : run.error ? message("bad", run.error) : null,
        // What a run that stopped short changed, and whether trying again is safe: only
        // then is it offered.
        run.writes ? h("div", { class: `msg ${run.writes.retry_safe ? "ok" : "warn"}`, role: "status" },
          h("b", {}, run.writes.state === "unknown" ? "Check before trying again. " : run.writes.state === "made" ? "Some changes were made. " : "Nothing was changed. "),
          run.writes.said, " ",
          run.writes.retry_safe && can("agent") ? h("a", { class: "button small", href: `#/run/${encodeURIComponent(run.workflow_id)}?${inputsQuery(run.inputs)}` }, "Try again") : null) : null);
    }
    if (run.approval && changed) put(approval, await approvalBox(run, { onDecided: refresh }));
    const stepsKey = JSON.stringify(run.steps.map((s) => [s.step_id, s.iteration, s.status, s.http_status, s.error]));
    if (stepsKey !== lastSteps) {
      lastSteps = stepsKey;
      put(steps, stepsList(run));
    }
    stepsSummary.textContent = stepsLine(run);
    if (changed) stepsBox.open = !["completed", "pending_approval"].includes(run.status);
    lastStatus = run.status;
    if (isFinal(run.status) && !ended) {
      ended = true;
      if (run.status === "completed") put(answer, h("h2", {}, "Answer"), resultsView(run, { title, controls: controls(run) }));
    }
    // Settled: ended, or waiting for people (which may take days).
    if ((ended || run.status === "pending_approval") && !settled) {
      settled = true;
      if (onSettled) onSettled(run);
    }
  };

  const refresh = async () => {
    const run = await api("GET", `/api/v1/runs/${encodeURIComponent(id)}`);
    await render(run);
    return isFinal(run.status);
  };
  // Often while it runs; a run waiting for people (for days, perhaps) is looked at now and
  // then.
  let waiting = false;
  poll(async () => {
    try {
      const done = await refresh();
      waiting = lastStatus === "pending_approval";
      return done;
    } catch (err) { put(live, message("bad", `Could not read the run: ${err.message}`)); return err.status === 404 || err.status === 401; }
  }, () => (waiting ? 10000 : 700));
  return panel;
}

/** A run's recorded facts: workflow, version, inputs, times. */
export function runFacts(run) {
  return h("dl", { class: "fields" },
    h("dt", {}, "Workflow"), h("dd", {}, h("a", { href: `#/run/${encodeURIComponent(run.workflow_id)}` }, run.workflow_id), ` v${run.workflow_version}`),
    h("dt", {}, "Run ID"), h("dd", { class: "mono" }, run.id),
    h("dt", {}, "Requested by"), h("dd", {}, run.requested_by || "—"),
    run.requested_for ? [h("dt", {}, "For"), h("dd", {}, run.requested_for)] : null,
    run.parent_run_id ? [h("dt", {}, "Part of"), h("dd", {}, h("a", { href: `#/runs/${encodeURIComponent(run.parent_run_id)}` }, `Run ${shortId(run.parent_run_id)}`), " (a workflow step of it)")] : null,
    h("dt", {}, "Connection"), h("dd", {}, run.connection || "default"),
    h("dt", {}, "Created"), h("dd", {}, when(run.created_at)),
    run.finished_at ? [h("dt", {}, "Finished"), h("dd", {}, `${when(run.finished_at)} (${((new Date(run.finished_at) - new Date(run.started_at || run.created_at)) / 1000).toFixed(1)} s)`)] : null,
    h("dt", {}, "Inputs"), h("dd", {}, Object.keys(run.inputs || {}).length ? fields(run.inputs) : "none"));
}

