// The settings page's script: adds and removes mapping rows, shows the per-row sync direction in
// two-way mode, and refreshes a running manual sync's progress without a reload. The page works
// without it, except for adding and removing rows.
(function () {
  'use strict';

  var form = document.getElementById('settings');
  if (form) {
    var rows = document.getElementById('rows');
    var tpl = document.getElementById('row-template');
    var next = rows.querySelectorAll('[data-row]').length + 1;

    var renumber = function () {
      rows.querySelectorAll('[data-row]').forEach(function (li, i) {
        li.querySelector('.row-n').textContent = String(i + 1);
        li.querySelector('[data-role=remove]').setAttribute('aria-label', 'Remove mapping row ' + (i + 1));
      });
    };
    var typeOf = function (sel) {
      var o = sel.options[sel.selectedIndex];
      return (o && o.getAttribute('data-type')) || '?';
    };
    var showTypes = function (li) {
      li.querySelector('[data-role=types]').textContent =
        typeOf(li.querySelector('[data-role=lms]')) + ' to ' + typeOf(li.querySelector('[data-role=hubspot]'));
    };

    document.getElementById('add-row').addEventListener('click', function () {
      var frag = tpl.content.cloneNode(true);
      var n = next++;
      frag.querySelectorAll('[id], [for], [aria-describedby]').forEach(function (el) {
        ['id', 'for', 'aria-describedby'].forEach(function (a) {
          var v = el.getAttribute(a);
          if (v) { el.setAttribute(a, v.replace(/^row-0-/, 'row-' + n + '-')); }
        });
      });
      var li = frag.querySelector('[data-row]');
      rows.appendChild(frag);
      renumber();
      li.querySelector('[data-role=lms]').focus();
    });

    rows.addEventListener('click', function (e) {
      var b = e.target.closest('[data-role=remove]');
      if (!b) { return; }
      var li = b.closest('[data-row]');
      var near = li.nextElementSibling || li.previousElementSibling;
      li.remove();
      renumber();
      (near ? near.querySelector('[data-role=lms]') : document.getElementById('add-row')).focus();
    });

    rows.addEventListener('change', function (e) {
      var li = e.target.closest('[data-row]');
      if (li) { showTypes(li); }
    });

    form.querySelectorAll('input[name=mode]').forEach(function (r) {
      r.addEventListener('change', function () {
        if (r.checked) { form.setAttribute('data-mode', r.value); }
      });
    });
  }

  // While a manual sync runs, poll the progress endpoint; when it ends, the section becomes the
  // run's summary.
  var poll = function () {
    var sec = document.getElementById('manual-sync');
    if (!sec || sec.getAttribute('data-running') !== 'true') { return; }
    var every = parseInt(sec.getAttribute('data-poll-ms'), 10) || 1000;
    window.setTimeout(function () {
      fetch(sec.getAttribute('data-progress-url'), { credentials: 'same-origin', headers: { Accept: 'application/json' } })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(new Error('HTTP ' + r.status)); })
        .then(function (j) {
          if (j.running) {
            var stats = document.getElementById('sync-stats');
            if (stats) { stats.innerHTML = j.stats; }
          } else {
            document.getElementById('manual-sync').outerHTML = j.section;
          }
          poll();
        })
        .catch(function () { poll(); });
    }, every);
  };
  poll();
}());
