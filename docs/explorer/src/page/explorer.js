// The explorer's page: the form, the stream of a run, and the drawing.
//
// A run is started with a POST of JSON to /api/runs, whose answer is the run's stream of
// server-sent events (see docs/explorer/src/stream.rs for each event). The events of the
// recorder are the harness's own trace events (docs/harness/src/record/trace.rs): `M` names a
// thread, `B` and `E` begin and end a task, `i` is a panic, `X` a wait of the submitter, and `C`
// a counter (the queue's depth, the tasks rejected). Times are microseconds from the run's start.
'use strict';

// A new id per page load: a new run of this page cancels the run it has going.
const PAGE = (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2));

// Each stands out from the white panel by at least 3:1, WCAG's minimum for graphics, drawn opaque
// as the legend shows it: a projector washes out anything fainter.
const COLORS = {
  task: '#2f6fdb', caller: '#9a4fd6', panic: '#d93b3b', wait: '#c27c00', dead: '#878e99',
  depth: '#2e9e6a', ideal: '#555', grid: '#e3e7ee', text: '#5c6676', ink: '#1d2430',
};
// The canvas: a gutter for the lanes' names, an axis on top, the lanes, the queue's depth below.
const GUTTER = 96;
const AXIS = 18;
const LANES_HEIGHT = 300;
const DEPTH_HEIGHT = 56;
// In stages 04 and 05 every call to submit is a span; one this long or longer counts as a wait.
const SUBMIT_WAITED_US = 1000;
// "1 task", "2 tasks": counts read as the demos' own lines read them.
const count = (n, noun) => `${n} ${noun}${n === 1 ? '' : 's'}`;

const form = document.getElementById('form');
const runButton = document.getElementById('run');
const cancelButton = document.getElementById('cancel');
const compare = document.getElementById('compare');
const statusLine = document.getElementById('status');
const errorBox = document.getElementById('error');
const panelsBox = document.getElementById('panels');

let controller = null; // aborts the fetch of the run going, if any
let panels = [];        // one per run of the request
let drawPending = false;

// --- The form -----------------------------------------------------------------------------

for (const fieldset of document.querySelectorAll('.run-form')) {
  fieldset.append(document.getElementById('fields').content.cloneNode(true));
  fieldset.addEventListener('change', () => showFields(fieldset));
}
// The second run starts as the same job under another policy: block against caller-runs.
document.querySelector('.run-form[data-run="1"] [name=policy]').value = 'caller-runs';
for (const fieldset of document.querySelectorAll('.run-form')) showFields(fieldset);

compare.addEventListener('change', () => {
  const second = document.querySelector('.run-form[data-run="1"]');
  second.hidden = !compare.checked;
  second.disabled = !compare.checked;
});

// Shows only the fields that the chosen stage's demo takes.
function showFields(fieldset) {
  const stage = fieldset.querySelector('[name=stage]').value;
  const policy = fieldset.querySelector('[name=policy]').value;
  for (const label of fieldset.querySelectorAll('label[data-stages]')) {
    const forStage = label.dataset.stages.split(' ').includes(stage);
    const forPolicy = !label.dataset.policy || label.dataset.policy === policy;
    label.hidden = !(forStage && forPolicy);
  }
}

// The flags of one run, as the page sends them: strings, as typed, which the server checks
// exactly as the stage's demo checks its command line.
function flagsOf(fieldset) {
  const value = (name) => fieldset.querySelector(`[name=${name}]`).value.trim();
  const stage = value('stage');
  const run = { stage, tasks: value('tasks'), task: `${value('kind')}:${value('duration')}` };
  const takes = (name) => {
    const label = fieldset.querySelector(`[name=${name}]`).closest('label');
    return label.dataset.stages.split(' ').includes(stage);
  };
  if (takes('workers')) run.workers = value('workers');
  if (takes('queue')) run.queue = value('queue');
  if (takes('policy')) {
    run.policy = value('policy') === 'timeout' ? `timeout:${value('timeout')}` : value('policy');
  }
  if (takes('panic_task') && value('panic_task') !== '') run.panic_task = value('panic_task');
  if (takes('panic_every') && value('panic_every') !== '') run.panic_every = value('panic_every');
  return run;
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const runs = [...document.querySelectorAll('.run-form')]
    .filter((fieldset) => !fieldset.disabled)
    .map(flagsOf);
  start({ page: PAGE, runs });
});

cancelButton.addEventListener('click', async () => {
  cancelButton.disabled = true;
  // The stream goes on to its end, which says the run was cancelled.
  await fetch('/api/cancel', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ page: PAGE }),
  }).catch(() => {});
});

// --- The stream of a run ------------------------------------------------------------------

async function start(request) {
  // The server cancels this page's previous run anyway; aborting its fetch stops reading it.
  if (controller) controller.abort();
  const mine = new AbortController();
  controller = mine;
  errorBox.hidden = true;
  panels = [];
  panelsBox.replaceChildren();
  setRunning(true, 'starting…');
  let response;
  try {
    response = await fetch('/api/runs', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(request),
      signal: mine.signal,
    });
  } catch (error) {
    if (controller === mine) fail(`the server cannot be reached: ${error.message}`);
    return;
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({ error: response.statusText }));
    fail(body.error);
    return;
  }
  try {
    await readEvents(response.body, (name, data) => {
      if (controller === mine) onEvent(name, data);
    });
  } catch (error) {
    if (error.name !== 'AbortError' && controller === mine) fail(`the stream broke: ${error.message}`);
    return;
  }
  if (controller === mine) {
    controller = null;
    setRunning(false);
  }
}

// Reads server-sent events from `body`, calling `handle(name, data)` for each. The last event of
// a run carries its whole trace, so the search for an event's end resumes where it stopped.
async function readEvents(body, handle) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let searched = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n', Math.max(0, searched - 1))) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      searched = 0;
      let name = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) name = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        // Lines starting with ':' keep the connection alive, and say nothing.
      }
      if (data.length) handle(name, JSON.parse(data.join('\n')));
    }
    searched = buffer.length;
  }
}

function onEvent(name, data) {
  switch (name) {
    case 'run': {
      const panel = newPanel(data);
      panels[data.run] = panel;
      setRunning(true, `running stage ${data.stage}…`);
      break;
    }
    case 'events': {
      const panel = panels[data.run];
      for (const event of data.events) panel.take(event);
      panel.receivedAt = performance.now();
      break;
    }
    case 'end':
      panels[data.run].finish(data);
      break;
    case 'error':
      fail(data.message);
      break;
    case 'cancelled':
      statusLine.textContent = `cancelled: ${data.reason}`;
      break;
    case 'done':
      for (const panel of panels) if (panel) panel.running = false;
      if (!statusLine.textContent.startsWith('cancelled')) statusLine.textContent = 'done';
      break;
    default:
      break;
  }
  scheduleDraw();
}

function setRunning(running, status) {
  runButton.textContent = running ? 'Run again' : 'Run';
  cancelButton.disabled = !running;
  if (status !== undefined) statusLine.textContent = status;
  else if (!running && statusLine.textContent.endsWith('…')) statusLine.textContent = 'done';
}

function fail(message) {
  errorBox.textContent = message;
  errorBox.hidden = false;
  setRunning(false, '');
}

// --- One run: what it has seen --------------------------------------------------------------

function newPanel(info) {
  const element = document.getElementById('panel').content.firstElementChild.cloneNode(true);
  panelsBox.append(element);
  const panel = new Panel(info, element);
  panel.showCounters();
  return panel;
}

class Panel {
  constructor(info, element) {
    this.info = info;
    this.element = element;
    this.canvas = element.querySelector('canvas');
    this.running = true;
    this.lanes = [];
    this.laneByName = new Map();
    this.laneByTid = new Map();
    this.open = new Map(); // task id -> its span, from its start to its end
    this.depth = [[0, 0]];  // [time, depth] steps
    this.rejections = [];   // when the full-queue policy gave a task up
    this.maxDepth = 0;
    this.latest = 0;        // the latest time seen, in microseconds
    this.receivedAt = performance.now();
    this.counters = { completed: 0, panicked: 0, rejected: 0, waited: 0, ran_in_caller: 0 };
    this.end = null;
    this.drawn = { lanes: 0, tasks: 0 };
    const policy = info.policy ? `, ${info.policy} when full` : '';
    const pool = info.workers ? count(info.workers, 'worker') : 'a thread per task';
    const queue = !info.queued ? '' : info.queue === null ? ', an unbounded queue' : `, a queue of ${info.queue}`;
    this.title = `Stage ${info.stage}: ${count(info.tasks, 'task')} of ${info.task} on ${pool}${queue}${policy}`;
    element.querySelector('.title').textContent = this.title;
    // The canvas's name, for a screen reader: what it shows now, and the counts once it ends.
    this.canvas.setAttribute('aria-label', `${this.title}: a lane per thread, as the run goes`);
    // The submitter first, then the pool's workers, in order, before any of them has run a task.
    this.lane('submitter', true);
    const workers = Math.min(info.workers || 0, 10000);
    for (let i = 0; i < workers; i++) this.lane(`worker-${i}`, false);
    this.showGauge(0);
  }

  lane(name, submitter) {
    let lane = this.laneByName.get(name);
    if (!lane) {
      lane = { name, submitter, tasks: [], waits: [], dead: null, replaced: [], tids: 0 };
      this.lanes.push(lane);
      this.laneByName.set(name, lane);
    }
    return lane;
  }

  // Takes one event of the recorder.
  take(event) {
    const at = event.ts + (event.dur || 0);
    if (at > this.latest) this.latest = at;
    switch (event.ph) {
      case 'M': {
        const { name, submitter } = event.args;
        const lane = submitter ? this.lanes[0] : this.lane(name, false);
        // A second thread of the same name is a replacement: the pool started it in place of
        // a worker that died (stage 05).
        if (lane.tids > 0 && !lane.submitter) {
          lane.replaced.push(this.latest);
          lane.dead = null;
        }
        lane.tids += 1;
        this.laneByTid.set(event.tid, lane);
        break;
      }
      case 'B': {
        const lane = this.laneByTid.get(event.tid);
        const span = { id: event.args.task, start: event.ts, end: null, panicked: false };
        lane.tasks.push(span);
        this.open.set(span.id, span);
        if (lane.submitter) this.counters.ran_in_caller += 1;
        break;
      }
      case 'i': {
        const span = this.open.get(event.args.task);
        if (span) span.panicked = true;
        this.counters.panicked += 1;
        // In stage 04 nothing catches a task's panic: it unwinds out of its worker's loop, and
        // the worker thread dies with it.
        if (this.info.stage === '04') this.laneByTid.get(event.tid).dead = event.ts;
        break;
      }
      case 'E': {
        const span = this.open.get(event.args.task);
        if (span) {
          span.end = event.ts;
          this.open.delete(span.id);
          if (!span.panicked) this.counters.completed += 1;
        }
        break;
      }
      case 'X': {
        const lane = this.laneByTid.get(event.tid);
        const wait = { start: event.ts, end: event.ts + event.dur };
        lane.waits.push(wait);
        const stage03 = this.info.stage === '03';
        if (stage03 || event.dur >= SUBMIT_WAITED_US) this.counters.waited += 1;
        break;
      }
      case 'C':
        if (event.name === 'queue depth') {
          this.depth.push([event.ts, event.args.tasks]);
          this.maxDepth = Math.max(this.maxDepth, event.args.tasks);
          this.showGauge(event.args.tasks);
        } else if (event.name === 'rejected') {
          this.counters.rejected = event.args.tasks;
          this.rejections.push(event.ts);
        }
        break;
      default:
        break;
    }
  }

  // The run's end: the server's own counts replace the ones counted here.
  finish(end) {
    this.end = end;
    this.running = false;
    const endUs = end.elapsed_ms * 1000;
    for (const span of this.open.values()) span.end = Math.max(span.start, endUs);
    this.open.clear();
    Object.assign(this.counters, {
      completed: end.completed, panicked: end.panicked, rejected: end.rejected,
      ran_in_caller: end.ran_in_caller,
    });
    if (end.waited !== null) this.counters.waited = end.waited;
    this.showGauge(0);
    const result = this.element.querySelector('.result');
    // A run stopped early says nothing about how close it came to its ideal.
    const ratio = end.ideal_ms > 0 && !end.cancelled
      ? ` — ${Math.round((100 * end.elapsed_ms) / end.ideal_ms)} % of the ideal` : '';
    const timing =
      `Took ${seconds(end.elapsed_ms)} against an ideal of ${seconds(end.ideal_ms)}${ratio}` +
      (end.cancelled ? ` (cancelled: ${end.cancelled})` : '');
    result.querySelector('.timing').textContent = timing;
    const counts = `${end.completed} completed, ${end.panicked} panicked, ${end.rejected} rejected, ` +
      `${end.ran_in_caller} ran in the caller`;
    this.canvas.setAttribute('aria-label', `${this.title}: ${counts}. ${timing}`);
    const note = result.querySelector('.note');
    note.hidden = !end.note;
    note.textContent = end.note || '';
    result.querySelector('.summary code').textContent = end.summary;
    result.querySelector('.command').textContent = this.info.command;
    result.querySelector('.copy').addEventListener('click', () => {
      navigator.clipboard?.writeText(this.info.command);
    });
    const trace = new Blob([JSON.stringify(end.trace)], { type: 'application/json' });
    const link = result.querySelector('.trace');
    link.href = URL.createObjectURL(trace);
    link.download = `explorer-stage${this.info.stage}-run${end.run + 1}.json`;
    result.hidden = false;
  }

  // The time the drawing reaches: the end, or the latest event plus the time since it came.
  now() {
    if (this.end) return this.end.elapsed_ms * 1000;
    if (!this.running) return this.latest;
    return this.latest + (performance.now() - this.receivedAt) * 1000;
  }

  alive() {
    if (!this.info.workers) return null;
    return this.lanes.filter((lane) => !lane.submitter && lane.dead === null).length;
  }

  showCounters() {
    for (const [name, value] of Object.entries(this.counters)) {
      this.element.querySelector(`[data-counter=${name}]`).textContent = value;
    }
    const alive = this.alive();
    this.element.querySelector('[data-counter=alive]').textContent =
      alive === null ? '–' : `${alive} of ${this.info.workers}`;
  }

  showGauge(depth) {
    const gauge = this.element.querySelector('[data-role=queue-gauge]');
    const text = this.element.querySelector('.gauge-text');
    const capacity = this.info.queue;
    gauge.dataset.depth = depth;
    gauge.dataset.maxDepth = this.maxDepth;
    if (!this.info.queued) {
      gauge.parentElement.hidden = true;
      return;
    }
    // An unbounded queue (stage 02) is drawn against the deepest it has been.
    const scale = capacity === null ? Math.max(1, this.maxDepth) : Math.max(1, capacity);
    gauge.querySelector('.fill').style.width = `${Math.min(100, (100 * depth) / scale)}%`;
    gauge.classList.toggle('full', capacity !== null && depth >= capacity && capacity > 0);
    text.textContent = capacity === null
      ? `${depth} waiting (no limit; at most ${this.maxDepth})`
      : `${depth} of ${capacity} slots taken (at most ${this.maxDepth})`;
  }
}

function seconds(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`;
}

// --- Drawing ------------------------------------------------------------------------------

function scheduleDraw() {
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(() => {
    drawPending = false;
    drawAll();
    // While a run goes, its open tasks grow with the clock: keep drawing.
    if (panels.some((panel) => panel && panel.running)) scheduleDraw();
  });
}

function drawAll() {
  const shown = panels.filter(Boolean);
  // One time axis for every run of the request: the longest of their ideals and their times.
  const span = Math.max(1, ...shown.map((panel) => Math.max(panel.now(), panel.info.ideal_ms * 1000 * 1.05)));
  for (const panel of shown) {
    draw(panel, span);
    panel.showCounters();
  }
}

function draw(panel, span) {
  const canvas = panel.canvas;
  const width = canvas.clientWidth || 800;
  const lanes = panel.lanes;
  const laneHeight = Math.max(0.5, Math.min(20, LANES_HEIGHT / lanes.length));
  const lanesHeight = Math.ceil(laneHeight * lanes.length);
  const depthHeight = panel.info.queued ? DEPTH_HEIGHT : 0;
  const height = AXIS + lanesHeight + (depthHeight ? depthHeight + 8 : 0) + 4;
  const ratio = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    canvas.style.height = `${height}px`;
  }
  const g = canvas.getContext('2d');
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  const plot = width - GUTTER - 8;
  const x = (us) => GUTTER + (Math.min(us, span) / span) * plot;
  const now = panel.now();

  drawAxis(g, span, x, height, width);
  let lanesDrawn = 0;
  let tasksDrawn = 0;
  lanes.forEach((lane, index) => {
    const top = AXIS + index * laneHeight;
    if (laneHeight >= 10) {
      g.fillStyle = COLORS.text;
      g.font = '11px system-ui, sans-serif';
      g.textBaseline = 'middle';
      const label = lane.dead !== null ? `${lane.name} ✝` : lane.name;
      g.fillText(label, 4, top + laneHeight / 2, GUTTER - 8);
    }
    if (lane.dead !== null) {
      g.fillStyle = COLORS.dead;
      g.fillRect(x(lane.dead), top, Math.max(0, x(now) - x(lane.dead)), laneHeight);
    }
    const pad = laneHeight >= 6 ? 1.5 : 0;
    for (const wait of lane.waits) {
      g.fillStyle = COLORS.wait;
      g.fillRect(x(wait.start), top + laneHeight * 0.3, Math.max(1, x(wait.end) - x(wait.start)), laneHeight * 0.4);
    }
    for (const task of lane.tasks) {
      const end = task.end === null ? now : task.end;
      g.fillStyle = task.panicked ? COLORS.panic : lane.submitter ? COLORS.caller : COLORS.task;
      g.fillRect(x(task.start), top + pad, Math.max(1, x(end) - x(task.start) - 1.5), laneHeight - 2 * pad);
      tasksDrawn += 1;
    }
    // Each task the policy gave up, as a tick on the submitter's lane, where it was decided.
    if (lane.submitter) {
      g.fillStyle = COLORS.panic;
      for (const at of panel.rejections) g.fillRect(x(at), top, 1, laneHeight);
    }
    for (const at of lane.replaced) {
      g.fillStyle = COLORS.depth;
      g.fillRect(x(at) - 1, top, 2, laneHeight);
    }
    if (lane.tasks.length || lane.waits.length || (lane.submitter && panel.rejections.length)) {
      lanesDrawn += 1;
    }
  });
  if (depthHeight) drawDepth(g, panel, x, AXIS + lanesHeight + 8, depthHeight, now);
  // The ideal time, as a line across the lanes.
  const ideal = panel.info.ideal_ms * 1000;
  g.strokeStyle = COLORS.ideal;
  g.setLineDash([4, 3]);
  g.beginPath();
  g.moveTo(x(ideal) + 0.5, AXIS - 4);
  g.lineTo(x(ideal) + 0.5, height);
  g.stroke();
  g.setLineDash([]);
  panel.drawn = { lanes: lanesDrawn, tasks: tasksDrawn, span };
  canvas.dataset.lanes = lanes.length;
  canvas.dataset.lanesDrawn = lanesDrawn;
  canvas.dataset.tasksDrawn = tasksDrawn;
}

function drawAxis(g, span, x, height, width) {
  const step = niceStep(span / 8);
  g.font = '10px system-ui, sans-serif';
  g.textBaseline = 'top';
  for (let t = 0; t <= span; t += step) {
    g.fillStyle = COLORS.grid;
    g.fillRect(Math.round(x(t)), AXIS - 2, 1, height - AXIS);
    // A label that would run past the right edge is left out rather than cut off: the grid
    // line and the labels before it still give the scale.
    const label = t === 0 ? '0' : seconds(t / 1000);
    if (x(t) + 2 + g.measureText(label).width > width) continue;
    g.fillStyle = COLORS.text;
    g.fillText(label, x(t) + 2, 2);
  }
}

// A step of 1, 2 or 5 times a power of ten microseconds, near `rough`.
function niceStep(rough) {
  const power = 10 ** Math.floor(Math.log10(Math.max(rough, 1)));
  for (const factor of [1, 2, 5, 10]) if (power * factor >= rough) return power * factor;
  return power * 10;
}

function drawDepth(g, panel, x, top, height, now) {
  const capacity = panel.info.queue;
  const scale = Math.max(1, capacity === null ? panel.maxDepth : Math.max(capacity, panel.maxDepth));
  const y = (depth) => top + height - (depth / scale) * height;
  g.fillStyle = COLORS.text;
  g.font = '11px system-ui, sans-serif';
  g.textBaseline = 'middle';
  g.fillText('queue', 4, top + height / 2, GUTTER - 8);
  g.fillStyle = COLORS.depth;
  const steps = panel.depth;
  for (let i = 0; i < steps.length; i++) {
    const [at, depth] = steps[i];
    const until = i + 1 < steps.length ? steps[i + 1][0] : now;
    if (depth > 0) g.fillRect(x(at), y(depth), Math.max(1, x(until) - x(at)), top + height - y(depth));
  }
  if (capacity !== null) {
    g.strokeStyle = COLORS.wait;
    g.setLineDash([2, 2]);
    g.beginPath();
    g.moveTo(GUTTER, Math.round(y(capacity)) + 0.5);
    g.lineTo(x(Number.MAX_VALUE), Math.round(y(capacity)) + 0.5);
    g.stroke();
    g.setLineDash([]);
  }
  g.strokeStyle = COLORS.grid;
  g.strokeRect(GUTTER + 0.5, top + 0.5, x(Number.MAX_VALUE) - GUTTER, height);
}

window.addEventListener('resize', scheduleDraw);

// What a test in a browser reads: each run's lanes and tasks as drawn, the queue's gauge, the
// counters, and whether it has ended.
window.explorerProbe = () => panels.filter(Boolean).map((panel) => {
  const gauge = panel.element.querySelector('[data-role=queue-gauge]');
  return {
    stage: panel.info.stage,
    tasks: panel.info.tasks,
    capacity: panel.info.queue,
    lanes: panel.lanes.length,
    lanesDrawn: panel.drawn.lanes,
    tasksDrawn: panel.drawn.tasks,
    axisSpan: panel.drawn.span,
    gaugeShown: !gauge.parentElement.hidden,
    maxDepth: panel.maxDepth,
    gaugeMaxDepth: Number(gauge.dataset.maxDepth),
    counters: { ...panel.counters },
    shownCompleted: Number(panel.element.querySelector('[data-counter=completed]').textContent),
    ended: panel.end !== null,
    elapsedMs: panel.end ? panel.end.elapsed_ms : null,
    command: panel.end ? panel.element.querySelector('.command').textContent : null,
    traceLink: panel.end ? panel.element.querySelector('.trace').href : null,
  };
});
