// Boots this client inside the page a MicroPython board serves itself (docs/board-behaviour.md: Connecting).
//
// A board answers a plain GET on its WebREPL port with
//   <base href="BASE"></base><script src="webrepl_content.js"></script>
// where BASE is webrepl_cfg.BASE. With BASE pointing at this client's published dist/ (its
// folder must send `Access-Control-Allow-Origin`, as GitHub Pages does), this script — loaded
// from BASE — fetches the built index.html from the same folder and replaces the board's document
// with it: a <base> makes its stylesheet, import map (xterm), module script and wasm load from
// BASE, and the board's address is taken from the document's own host (ws://HOST/), so the
// WebSocket is same-host: no mixed content and no local-network permission. The password is
// asked as usual.
(function () {
  'use strict';
  var script = document.currentScript;
  var base = new URL('./', (script && script.src) || document.baseURI).href;
  // The page (src/page.rs) fills its address field from this.
  window.webreplBoardUrl = 'ws://' + location.host + '/';

  function fail(text) {
    document.body.textContent = '';
    var p = document.createElement('p');
    p.style.font = '16px sans-serif';
    p.textContent = text;
    document.body.appendChild(p);
  }

  fetch(new URL('index.html', base).href, { cache: 'no-cache' })
    .then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.text();
    })
    .then(function (html) {
      var doc = new DOMParser().parseFromString(html, 'text/html');
      var b = doc.createElement('base');
      b.href = base;
      doc.head.insertBefore(b, doc.head.firstChild);
      // Cross-origin assets with integrity hashes load only as CORS requests.
      doc.querySelectorAll('[integrity]').forEach(function (el) {
        el.setAttribute('crossorigin', 'anonymous');
      });
      // Not a module in an Edrys room here: the host script is not needed.
      doc.querySelectorAll('script[src*="edrys"]').forEach(function (el) { el.remove(); });
      var text = '<!doctype html>\n' + doc.documentElement.outerHTML;
      // Replaces the board's tiny document (quirks mode, no doctype) with the client's.
      document.open();
      document.write(text);
      document.close();
    })
    .catch(function (e) {
      fail('Could not load the WebREPL client from ' + base + ' (' + e.message + '). ' +
        'Check webrepl_cfg.BASE on the board: it must be the address of the published client folder, ending in /.');
    });
})();
