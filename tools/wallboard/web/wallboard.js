// The web wallboard: draws the state that /api/events streams (one full snapshot per
// message, see tools/wallboard/snapshot.hpp) and ticks the waiting times in between.
'use strict';

(function () {
  const token = new URLSearchParams(window.location.search).get('token');
  const query = token ? '?token=' + encodeURIComponent(token) : '';
  let snapshot = null;
  let receivedAt = 0;  // Date.now() when `snapshot` arrived: waits count on from there
  let source = null;
  let retryTimer = null;

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k.startsWith('data-')) e.setAttribute(k, v);
      else e[k] = v;
    }
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }

  function clock(seconds) {
    const t = Math.max(0, Math.floor(seconds));
    const two = (n) => String(n).padStart(2, '0');
    if (t >= 3600) return Math.floor(t / 3600) + ':' + two(Math.floor(t / 60) % 60) + ':' + two(t % 60);
    return two(Math.floor(t / 60)) + ':' + two(t % 60);
  }

  function since(iso) {
    return iso ? (Date.now() - Date.parse(iso)) / 1000 : 0;
  }

  // As board.cpp's activity(): paused first, then in call, then the device state.
  function activity(m) {
    if (m.paused) return 'paused';
    if (m.in_call) return 'busy';
    if (m.status === 'NOT_INUSE') return 'available';
    if (['INUSE', 'BUSY', 'RINGING', 'RINGINUSE', 'ONHOLD'].includes(m.status)) return 'busy';
    return 'unavailable';
  }

  function setStatus(text, kind) {
    const s = document.getElementById('status');
    s.textContent = text;
    s.className = 'status ' + kind;
  }

  function figure(value, label, alert) {
    return el('div', { class: 'figure' + (alert ? ' alert' : '') }, el('b', {}, value), el('span', {}, label));
  }

  function drawQueues(queues, elapsed) {
    const box = document.getElementById('queues');
    box.replaceChildren();
    if (queues.length === 0) box.append(el('p', { class: 'empty' }, 'No queues.'));
    for (const q of queues) {
      const counts = { available: 0, busy: 0, paused: 0, unavailable: 0 };
      for (const m of q.members) counts[activity(m)]++;
      const longest = q.callers.reduce((w, c) => Math.max(w, c.wait + elapsed), 0);
      const sl = q.service_level_perf.toFixed(1) + '%';
      const members = el('div', { class: 'members' },
        el('span', { class: 'available' }, counts.available + ' available'), ' · ',
        el('span', { class: 'busy' }, counts.busy + ' busy'), ' · ',
        el('span', { class: 'paused' }, counts.paused + ' paused'),
        counts.unavailable ? ' · ' + counts.unavailable + ' unavailable' : '');
      const callers = el('ul', { class: 'callers' });
      for (const c of q.callers) {
        const who = known(c.caller_id_num) ? c.channel + ' (' + c.caller_id_num + ')' : c.channel;
        callers.append(el('li', { class: 'caller', 'data-channel': c.channel, 'data-uniqueid': c.uniqueid },
          el('span', {}, c.position + '. ' + who),
          el('span', { class: 'wait', 'data-wait': String(c.wait) }, clock(c.wait + elapsed))));
      }
      box.append(el('article', { class: 'queue', 'data-queue': q.queue },
        el('h3', {}, q.queue),
        el('div', { class: 'figures' },
          figure(q.callers.length, 'waiting', q.callers.length > 0),
          figure(clock(longest), 'longest wait', longest >= 60),
          figure(q.completed, 'answered'),
          figure(q.abandoned, 'abandoned', q.abandoned > 0)),
        el('div', { class: 'members' }, 'Service level ' + sl +
          (q.service_level ? ' within ' + q.service_level + ' s' : '')),
        members, callers));
    }
  }

  function drawAgents(s) {
    const people = new Map();
    for (const q of s.queues) {
      for (const m of q.members) {
        const p = people.get(m.interface) || { m, queues: [], taken: 0 };
        if (m.in_call && !p.m.in_call) p.m = m;
        p.queues.push(q.queue);
        p.taken += m.calls_taken;
        people.set(m.interface, p);
      }
    }
    const rows = [];
    for (const [iface, p] of [...people].sort((a, b) => a[0].localeCompare(b[0]))) {
      const what = activity(p.m);
      const shown = p.m.paused && p.m.paused_reason ? what + ' (' + p.m.paused_reason + ')' : what;
      rows.push(el('tr', { 'data-interface': iface },
        el('td', {}, iface), el('td', {}, p.m.name === iface ? '' : p.m.name),
        el('td', { class: what }, shown), el('td', {}, p.queues.join(', ')), el('td', {}, p.taken)));
    }
    for (const a of s.agents) {
      rows.push(el('tr', { 'data-agent': a.agent },
        el('td', {}, 'Agent/' + a.agent), el('td', {}, a.name), el('td', {}, a.status),
        el('td', {}, a.talking_to ? 'talking to ' + a.talking_to : ''), el('td', {}, '')));
    }
    document.querySelector('#agents tbody').replaceChildren(...rows);
    document.getElementById('agent-count').textContent = '(' + rows.length + ')';
  }

  // Asterisk writes "<unknown>" for a caller id it does not have.
  function known(id) {
    return id && id !== '<unknown>' ? id : '';
  }

  function drawCalls(s) {
    const calls = [...s.calls].sort((a, b) => (a.started || '').localeCompare(b.started || ''));
    const rows = calls.map((c) => {
      const num = known(c.caller_id_num) || '?';
      const name = known(c.caller_id_name);
      const from = name && name !== num ? num + ' "' + name + '"' : num;
      const to = known(c.connected_line_num) || c.exten || '?';
      const state = c.answered ? 'talking' : 'setting up';
      return el('tr', { 'data-linkedid': c.linkedid },
        el('td', {}, from), el('td', {}, to), el('td', {}, state),
        el('td', { class: 'duration', 'data-since': c.answered || c.started || '' },
          clock(since(c.answered || c.started))),
        el('td', {}, c.queue), el('td', {}, c.member));
    });
    document.querySelector('#calls tbody').replaceChildren(...rows);
    document.getElementById('call-count').textContent = '(' + rows.length + ')';
  }

  function draw() {
    if (!snapshot) return;
    const elapsed = (Date.now() - receivedAt) / 1000;
    drawQueues(snapshot.queues, elapsed);
    drawAgents(snapshot);
    drawCalls(snapshot);
  }

  // Between messages only the clocks move.
  function tick() {
    if (!snapshot) return;
    const elapsed = (Date.now() - receivedAt) / 1000;
    for (const w of document.querySelectorAll('.caller .wait')) {
      w.textContent = clock(Number(w.dataset.wait) + elapsed);
    }
    for (const d of document.querySelectorAll('#calls .duration')) {
      d.textContent = clock(since(d.dataset.since));
    }
  }

  function connect() {
    clearTimeout(retryTimer);
    source = new EventSource('api/events' + query);
    source.addEventListener('snapshot', (e) => {
      snapshot = JSON.parse(e.data);
      receivedAt = Date.now();
      setStatus('live', 'live');
      draw();
    });
    source.onerror = () => {
      if (source.readyState !== EventSource.CLOSED) {
        setStatus('reconnecting', 'connecting');  // EventSource retries by itself
        return;
      }
      // Closed for good (a refused token, a server that is gone): ask why, then retry.
      fetch('api/snapshot' + query).then((r) => {
        setStatus(r.status === 401 ? 'access token refused' : 'disconnected',
          r.status === 401 ? 'refused' : 'lost');
      }, () => setStatus('disconnected', 'lost'));
      retryTimer = setTimeout(connect, 3000);
    };
  }

  setInterval(tick, 1000);
  connect();
})();
