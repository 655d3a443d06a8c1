// Review page: decisions in localStorage until exported as a curation file ({paper}.yaml).
// Everything from the paper is written with textContent; nothing is parsed as HTML.
(() => {
  'use strict';
  const DATA = JSON.parse(document.getElementById('review-data').textContent);
  const STORE = 'trialmeta-review:' + DATA.paper + ':' + (DATA.sha256 || '');
  const NAME_STORE = 'trialmeta-review:reviewer';
  const TIME_TO_EVENT = ['relapse_cuminc', 'rfs', 'lfs', 'efs', 'os'];
  const MONTHS = {day: 1 / 30.4375, week: 7 / 30.4375, month: 1, year: 12};
  const TOP_ORDER = ['paper_sha256', 'study', 'trial_ids', 'target', 'construct', 'population', 'age_group', 'year', 'report',
    'centre', 'cohort', 'followup_max_months', 'patient_times', 'patient_time_unit', 'reason'];
  const storage = (() => {
    try { localStorage.setItem(STORE + ':probe', '1'); localStorage.removeItem(STORE + ':probe'); return localStorage; } catch (e) { return null; }
  })();
  const $ = (sel, root) => (root || document).querySelector(sel);
  const cards = [...document.querySelectorAll('section.item')];
  const itemOf = Object.fromEntries(DATA.items.map(it => [it.key, it]));
  const fileDecision = Object.fromEntries(((DATA.curation || {}).decisions || []).map(d => [d.key, d]));
  let state = {decisions: {}, added: [], metadata: null};
  try { state = Object.assign(state, JSON.parse(storage && storage.getItem(STORE)) || {}); } catch (e) { /* a fresh start */ }
  let current = 0;
  let pending = null;

  const reviewerInput = $('#reviewer');
  reviewerInput.value = (storage && storage.getItem(NAME_STORE)) || '';
  reviewerInput.addEventListener('change', () => { if (storage) storage.setItem(NAME_STORE, reviewerInput.value.trim()); });

  // The file this page would export, kept beside the decisions so the index page can download every
  // paper's file in one zip; removed while nothing is decided or the decisions cannot be exported.
  const EXPORT_STORE = 'trialmeta-review-export:' + DATA.paper + ':' + (DATA.sha256 || '');
  function keepExport() {
    if (!storage) return;
    const decided = Object.keys(state.decisions).length || state.added.length || state.metadata;
    const {text, problems} = decided ? curationText() : {text: '', problems: ['nothing decided']};
    if (problems.length) storage.removeItem(EXPORT_STORE); else storage.setItem(EXPORT_STORE, text);
  }
  function save() { if (storage) storage.setItem(STORE, JSON.stringify(state)); keepExport(); render(); }
  function say(text) { $('#progress').textContent = text; }
  function reviewer() {
    const name = reviewerInput.value.trim();
    if (!name) { reviewerInput.focus(); say('Type your name as reviewer first (it goes with every decision).'); }
    return name;
  }
  function landmarkKey(text) {
    const m = /^([0-9]+(?:\.[0-9]+)?) *(day|week|month|year)s?$/.exec(String(text).trim().toLowerCase());
    if (!m) return null;
    let months = parseFloat(m[1]) * MONTHS[m[2]];
    if (Math.abs(months - Math.round(months)) <= 0.25) months = Math.round(months);
    return String(+months.toFixed(2)) + ' months';
  }
  function numberField(form, name, integer) {
    const raw = (form.elements[name] ? form.elements[name].value : '').trim();
    if (raw === '') return undefined;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0 || (integer && !Number.isInteger(value))) throw new Error(name + ': ' + JSON.stringify(raw) + ' is not a ' + (integer ? 'whole number' : 'number') + ' of 0 or more');
    return value;
  }
  function printedValues(form) {
    const values = {};
    for (const [name, integer] of [['events', true], ['total', true], ['percent', false]]) {
      const v = numberField(form, name, integer);
      if (v !== undefined) values[name] = v;
    }
    const low = numberField(form, 'ci_low', false), high = numberField(form, 'ci_high', false);
    if ((low === undefined) !== (high === undefined)) throw new Error('give both CI limits or neither');
    if (low !== undefined) {
      if (low > high) throw new Error('CI low ' + low + ' is above CI high ' + high);
      values.ci_percent = [low, high];
    }
    if (values.total === 0) throw new Error('total must be 1 or more');
    if (values.events !== undefined && values.total !== undefined && values.events > values.total) throw new Error(values.events + ' events is more than the total of ' + values.total);
    if (values.percent !== undefined && values.percent > 100) throw new Error('percent ' + values.percent + ' is above 100');
    return values;
  }
  function candidatePage(item) { const c = DATA.candidates[String(item.chosen)]; return c && c.page; }

  function decide(card, decision) {
    const name = reviewer();
    if (!name) return false;
    state.decisions[card.dataset.key] = Object.assign(decision, {reviewer: name});
    pending = null;
    save();
    // on to the next value, so verifying a paper is one key per value
    const index = cards.indexOf(card);
    if (index + 1 < cards.length) go(index + 1);
    return true;
  }
  function reasonOf(card, fallback) {
    const input = $('input.reason', card);
    return input.value.trim() || fallback || '';
  }
  function accept(card) {
    const item = itemOf[card.dataset.key];
    if (item.chosen === null) { say('Nothing was chosen here: choose a candidate (o) or correct (c).'); return; }
    const page = candidatePage(item);
    decide(card, {action: 'accept', reason: reasonOf(card, 'value and quote checked against ' + (page ? 'page ' + page : 'the paper'))});
  }
  function reject(card) {
    const reason = reasonOf(card);
    if (!reason) { pending = 'reject'; $('input.reason', card).focus(); say('Type why the value is rejected, then press Enter.'); return; }
    decide(card, {action: 'reject', reason: reason});
  }
  function choose(card, index) {
    const c = DATA.candidates[String(index)];
    decide(card, {action: 'choose', candidate: index, reason: reasonOf(card, 'the candidate on ' + (c.page ? 'page ' + c.page : 'the paper') + ' is the value of the whole cohort')});
  }
  function correct(card, form) {
    let values;
    try { values = printedValues(form); } catch (err) { say('Correction not saved: ' + err.message); return; }
    const reason = form.elements.reason.value.trim();
    if (!Object.keys(values).length) { say('Correction not saved: give at least one value.'); return; }
    if (!reason) { form.elements.reason.focus(); say('Correction not saved: type a reason.'); return; }
    const decision = {action: 'correct', values: values, reason: reason};
    if (form.elements.landmark && form.elements.landmark.value.trim()) {
      decision.landmark = form.elements.landmark.value.trim();
      if (!landmarkKey(decision.landmark)) { say('Correction not saved: landmark ' + JSON.stringify(decision.landmark) + ' is not like "12 months", "1 year" or "365 days".'); return; }
    }
    if (decide(card, decision)) form.hidden = true;
  }

  function statusText(key) {
    const d = state.decisions[key];
    if (d) {
      const what = {accept: 'accepted', reject: 'rejected', choose: 'other candidate chosen', correct: 'corrected'}[d.action];
      return what + ' by ' + d.reviewer + ': ' + d.reason;
    }
    const f = fileDecision[key];
    return f ? 'in the curation file: ' + f.decision + ' (' + f.reason + ')' : 'not reviewed';
  }
  function render() {
    let done = 0;
    for (const card of cards) {
      const key = card.dataset.key;
      const status = $('[data-status]', card);
      status.textContent = statusText(key);
      const d = state.decisions[key];
      card.dataset.state = d ? d.action : (fileDecision[key] ? 'file' : 'open');
      if (d || fileDecision[key]) done += 1;
      for (const li of card.querySelectorAll('li[data-candidate]')) li.classList.toggle('picked', !!(d && d.action === 'choose' && String(d.candidate) === li.dataset.candidate));
    }
    const added = $('#added');
    added.replaceChildren(...state.added.map((a, i) => {
      const li = document.createElement('li');
      li.textContent = a.endpoint + (a.landmark ? ' at ' + a.landmark : '') + ': ' + JSON.stringify(a.values) + ' (page ' + (a.page || '?') + ') by ' + a.reviewer + ': ' + a.reason + ' ';
      const drop = document.createElement('button');
      drop.type = 'button'; drop.textContent = 'Remove';
      drop.addEventListener('click', () => { state.added.splice(i, 1); save(); });
      li.appendChild(drop);
      return li;
    }));
    say(done + ' of ' + cards.length + ' values reviewed' + (state.added.length ? ', ' + state.added.length + ' added' : '') + (state.metadata ? ', metadata set' : '') + (storage ? '' : ' (this browser keeps nothing: export before closing)'));
    document.body.dataset.reviewed = String(done);
  }
  function go(index) {
    if (!cards.length) return;
    current = Math.max(0, Math.min(cards.length - 1, index));
    cards.forEach((c, i) => c.classList.toggle('current', i === current));
    cards[current].focus({preventScroll: true});
    cards[current].scrollIntoView({block: 'start'});
  }

  // ---------------------------------------------------------------- export
  function scalar(value) {
    // JSON is YAML; characters YAML may not hold raw are escaped
    return JSON.stringify(value).replace(/[\u007f-\u009f\u2028\u2029\ufeff]/g, ch => '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0'));
  }
  function tagged(d) { return d.reason + ' (reviewer: ' + d.reviewer + ')'; }
  function identify(c) {
    // the values harmonise matches an extracted candidate on (exact, as extracted)
    const values = {};
    if (c.events !== null && c.total !== null) { values.events = c.events; values.total = c.total; } else if (c.estimate !== null) values.estimate = c.estimate;
    else if (c.total !== null) values.total = c.total;
    if (c.ci_low !== null && c.ci_high !== null) values.ci = [c.ci_low, c.ci_high];
    if (c.page !== null && c.page !== undefined) values.page = c.page;
    return values;
  }
  function entriesFor(item, d) {
    const at = item.landmark ? {landmark: item.landmark} : {};
    const base = Object.assign({endpoint: item.endpoint}, at);
    if (d.action === 'accept') return [[item.key, Object.assign(base, {decision: 'accept', reason: tagged(d)})]];
    if (d.action === 'reject') return [[item.key, Object.assign(base, {decision: 'reject', reason: tagged(d)})]];
    if (d.action === 'choose') return [[item.key, Object.assign(base, {decision: 'accept', values: identify(DATA.candidates[String(d.candidate)]), reason: tagged(d)})]];
    const moved = d.landmark && landmarkKey(d.landmark) !== item.landmark;
    if (!moved) return [[item.key, Object.assign(base, {decision: item.chosen === null ? 'add' : 'override', values: d.values, reason: tagged(d)})]];
    const out = [];
    if (item.chosen !== null) out.push([item.key, Object.assign({}, base, {decision: 'reject', reason: tagged(d) + '; the value belongs to ' + d.landmark})]);
    out.push([item.endpoint + '@' + landmarkKey(d.landmark), {endpoint: item.endpoint, landmark: d.landmark, decision: 'add', values: d.values, reason: tagged(d)}]);
    return out;
  }
  function curationText() {
    const problems = [];
    const file = JSON.parse(JSON.stringify(DATA.curation || {}));
    const decisions = new Map();
    for (const d of file.decisions || []) { const copy = Object.assign({}, d); delete copy.key; decisions.set(d.key, copy); }
    delete file.decisions;
    const mine = new Map();
    const put = (key, entry) => {
      if (mine.has(key)) problems.push('two decisions on ' + key + ' (' + mine.get(key) + ' and ' + entry.decision + '): keep one');
      mine.set(key, entry.decision);
      decisions.set(key, entry);
    };
    for (const item of DATA.items) if (state.decisions[item.key]) for (const [key, entry] of entriesFor(item, state.decisions[item.key])) put(key, entry);
    for (const a of state.added) {
      const key = a.landmark ? a.endpoint + '@' + landmarkKey(a.landmark) : a.endpoint;
      const values = Object.assign({}, a.values, a.page ? {page: a.page} : {});
      const quote = a.quote ? '; printed' + (a.page ? ' on page ' + a.page : '') + ': "' + a.quote + '"' : '';
      put(key, Object.assign({endpoint: a.endpoint}, a.landmark ? {landmark: a.landmark} : {}, {decision: 'add', values: values, reason: a.reason + quote + ' (reviewer: ' + a.reviewer + ')'}));
    }
    if (state.metadata) {
      const m = state.metadata;
      for (const [k, v] of Object.entries(m.values)) file[k] = v;
      file.reason = (file.reason ? file.reason + '; ' : '') + m.reason + ' (reviewer: ' + m.reviewer + ')';
    }
    // the paper the decisions were made on (harmonise refuses the file for any other); a list that holds it stays
    if (DATA.sha256 && ![].concat(file.paper_sha256 || []).includes(DATA.sha256)) file.paper_sha256 = DATA.sha256;
    const reviewers = [...new Set([...Object.values(state.decisions), ...state.added, ...(state.metadata ? [state.metadata] : [])].map(d => d.reviewer))];
    const lines = ['# Curation of ' + DATA.paper + ' (' + String(DATA.file || '').replace(/[\r\n]/g, ' ') + '), exported from its review page',
      '# reviewer(s): ' + reviewers.join(', ').replace(/[\r\n]/g, ' ')];
    const keys = [...TOP_ORDER.filter(k => k in file), ...Object.keys(file).filter(k => !TOP_ORDER.includes(k)).sort()];
    for (const k of keys) lines.push(k + ': ' + scalar(file[k]));
    if (decisions.size) {
      lines.push('decisions:');
      for (const d of decisions.values()) {
        let first = true;
        for (const k of ['endpoint', 'landmark', 'decision', 'values', 'denominator', 'reason']) {
          if (!(k in d)) continue;
          lines.push((first ? '  - ' : '    ') + k + ': ' + scalar(d[k]));
          first = false;
        }
      }
    }
    return {text: lines.join('\n') + '\n', problems: problems};
  }
  function exportFile() {
    if (!reviewer()) return;
    const {text, problems} = curationText();
    const box = $('#export-problems');
    box.hidden = !problems.length;
    box.textContent = problems.length ? 'Not exported: ' + problems.join('; ') : '';
    $('#yaml').textContent = problems.length ? '' : text;
    if (problems.length) { box.scrollIntoView(); return; }
    const link = document.createElement('a');
    link.href = URL.createObjectURL(new Blob([text], {type: 'application/x-yaml'}));
    link.download = DATA.paper + '.yaml';
    document.body.appendChild(link);
    link.click();
    setTimeout(() => { URL.revokeObjectURL(link.href); link.remove(); }, 2000);
    say('Exported ' + DATA.paper + '.yaml: put it in the curation_dir folder and rerun snakemake.');
    document.body.dataset.exported = 'yes';
  }

  // ---------------------------------------------------------------- wiring
  for (const card of cards) {
    card.addEventListener('click', ev => {
      current = cards.indexOf(card);
      cards.forEach((c, i) => c.classList.toggle('current', i === current));
      const button = ev.target.closest('button');
      if (!button) return;
      if (button.classList.contains('choose')) choose(card, Number(button.dataset.candidate));
      else if (button.dataset.act === 'accept') accept(card);
      else if (button.dataset.act === 'reject') reject(card);
      else if (button.dataset.act === 'undo') { delete state.decisions[card.dataset.key]; save(); }
      else if (button.dataset.act === 'correct') openCorrect(card);
    });
    $('input.reason', card).addEventListener('keydown', ev => {
      if (ev.key === 'Enter') { ev.preventDefault(); if (pending === 'reject') reject(card); else accept(card); }
    });
    $('form.correct', card).addEventListener('submit', ev => { ev.preventDefault(); correct(card, ev.target); });
  }
  function openCorrect(card) {
    const form = $('form.correct', card);
    form.hidden = false;
    form.elements[0].focus();
  }
  $('form.add').addEventListener('submit', ev => {
    ev.preventDefault();
    const form = ev.target;
    const name = reviewer();
    if (!name) return;
    let values, page;
    try { values = printedValues(form); page = numberField(form, 'page', true); } catch (err) { say('Not added: ' + err.message); return; }
    const endpoint = form.elements.endpoint.value, landmark = form.elements.landmark.value.trim();
    const reason = form.elements.reason.value.trim(), quote = form.elements.quote.value.trim();
    if (!Object.keys(values).length) { say('Not added: give at least one value.'); return; }
    if (!reason) { form.elements.reason.focus(); say('Not added: type a reason.'); return; }
    if (TIME_TO_EVENT.includes(endpoint) !== !!landmark) { say(TIME_TO_EVENT.includes(endpoint) ? 'Not added: ' + endpoint + ' needs a landmark ("12 months").' : 'Not added: only time-to-event endpoints take a landmark.'); return; }
    if (landmark && !landmarkKey(landmark)) { say('Not added: landmark ' + JSON.stringify(landmark) + ' is not like "12 months".'); return; }
    if (page === 0) { say('Not added: pages start at 1.'); return; }
    state.added.push({endpoint, landmark, values, page, quote, reason, reviewer: name});
    form.reset();
    save();
  });
  $('form.metadata').addEventListener('submit', ev => {
    ev.preventDefault();
    const form = ev.target;
    const name = reviewer();
    if (!name) return;
    const values = {};
    for (const k of ['study', 'target', 'construct', 'population', 'age_group']) if (form.elements[k].value.trim()) values[k] = form.elements[k].value.trim();
    const ids = form.elements.trial_ids.value.split(/[,;\s]+/).filter(s => s);
    if (ids.length) values.trial_ids = ids;
    let year;
    try { year = numberField(form, 'year', true); } catch (err) { say('Metadata not saved: ' + err.message); return; }
    if (year !== undefined) {
      if (year < 1950 || year > 2100) { say('Metadata not saved: year ' + year + ' is outside 1950-2100.'); return; }
      values.year = year;
    }
    const reason = form.elements.reason.value.trim();
    if (!Object.keys(values).length) { say('Metadata not saved: nothing given.'); return; }
    if (!reason) { form.elements.reason.focus(); say('Metadata not saved: type a reason.'); return; }
    state.metadata = {values, reason, reviewer: name};
    save();
  });
  $('#export').addEventListener('click', exportFile);
  $('#clear').addEventListener('click', () => { state = {decisions: {}, added: [], metadata: null}; save(); });
  document.addEventListener('keydown', ev => {
    const typing = ev.target.closest('input, select, textarea');
    if (ev.key === 'Escape') { if (typing) typing.blur(); if (cards[current]) cards[current].focus(); return; }
    if (typing || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const card = cards[current];
    const act = {
      j: () => go(current + 1), ArrowDown: () => go(current + 1), k: () => go(current - 1), ArrowUp: () => go(current - 1),
      a: () => card && accept(card), r: () => card && reject(card), c: () => card && openCorrect(card),
      u: () => { if (card) { delete state.decisions[card.dataset.key]; save(); } },
      o: () => { const d = card && $('details.others', card); if (d) { d.open = true; $('button.choose', d).focus(); } },
      n: () => $('form.add select').focus(), m: () => $('form.metadata input').focus(), e: exportFile,
      q: () => {
        const form = $('form.add');
        form.elements.quote.value = String(window.getSelection()).trim();
        const page = card && candidatePage(itemOf[card.dataset.key]);
        if (page) form.elements.page.value = page;
        form.elements.endpoint.focus();
      },
    }[ev.key];
    if (act) { ev.preventDefault(); act(); }
  });
  keepExport();  // decisions stored before this page was rebuilt are offered to the index's zip too
  render();
  if (cards.length) cards[0].classList.add('current');  // highlighted, not scrolled to: the reviewer's name comes first
})();
