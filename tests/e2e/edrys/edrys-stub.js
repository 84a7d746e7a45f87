// Stand-in for https://edrys-labs.github.io/module/edrys.js in tests (CI has no internet).
// Follows docs/edrys.md: the same API names and message shape; messages are delivered
// to every module frame of the room including the sender's; sendMessage throws before the first
// update; onReady fires about a second after it; configs may be "" or a raw string.
// It talks to the test host page (host.html, the parent frame) with postMessage.
(function () {
  const readyCbs = [];
  const updateCbs = [];
  const messageCbs = [];
  const state = {};
  const E = {
    ready: false, role: undefined, username: undefined, module: undefined, class_id: 'test-class',
    liveClass: { users: {}, rooms: {} }, liveUser: undefined, liveRoom: {},
    onReady(cb) { if (E.ready) cb(E); else readyCbs.push(cb); },
    onUpdate(cb) { updateCbs.push(cb); },
    onMessage(cb, promiscuous = false) { messageCbs.push({ cb, promiscuous }); },
    sendMessage(subject, body, user) {
      if (!E.module) throw new Error('Module not set yet: sendMessage before Edrys is ready');
      parent.postMessage({ edrys: 'send', subject, body, user, from: E.username, module: E.module.url }, '*');
    },
    getState(key, type, value) {
      if (type !== 'Value') throw new Error('stand-in supports only Value state');
      if (value !== undefined) {
        state[key] = value;
        parent.postMessage({ edrys: 'state', key, value }, '*');
      }
      return state[key];
    },
    updateState(fn) { fn(); },
    setItem(k, v) { localStorage.setItem(`edrys:${E.class_id}:${E.username}:${k}`, v); },
    getItem(k) { return localStorage.getItem(`edrys:${E.class_id}:${E.username}:${k}`); },
  };
  window.Edrys = E;
  window.addEventListener('message', (ev) => {
    const m = ev.data;
    if (!m || typeof m !== 'object' || !m.edrys) return;
    if (m.edrys === 'init') {
      Object.assign(E, { role: m.role, username: m.username, module: m.module, liveClass: m.liveClass });
      E.liveUser = m.liveClass.users[m.username];
      // The first update arrives now; onReady fires about a second after it.
      setTimeout(() => {
        E.ready = true;
        readyCbs.splice(0).forEach((cb) => cb(E));
      }, m.readyDelay ?? 1000);
    } else if (m.edrys === 'message') {
      for (const { cb, promiscuous } of messageCbs) {
        if (promiscuous || m.message.module === E.module?.url) cb(m.message);
      }
    } else if (m.edrys === 'state') {
      state[m.key] = m.value;
      if (E.ready) updateCbs.forEach((cb) => cb(E));
    } else if (m.edrys === 'users') {
      E.liveClass = m.liveClass;
      if (E.ready) updateCbs.forEach((cb) => cb(E));
    }
  });
  parent.postMessage({ edrys: 'hello' }, '*');
})();
