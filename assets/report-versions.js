/* The version switcher, the "old version" banner and the link to this version of a published report.
 *
 * Loaded on every page (the loader in assets/report-versions.html, _quarto.yml include-after-body).
 * It reads the list of published versions at view time from `versions.js` at the root of the
 * published site (written by `python -m analysis.build publish` beside versions.json), so a page of
 * an old version lists the releases made after it.  A <script> tag, not fetch(): it works from a
 * server and from files opened directly (file://) alike.  Every link it writes is relative.
 *
 * Where the page is: Quarto writes <meta name="quarto:offset"> (the way from the page to the root of
 * its site).  A site whose root folder is named vX.Y.Z is a published release, and the published root
 * is the folder above; otherwise the site root is the published root (the latest release's copy) or
 * an unpublished render, which has no versions.js and shows nothing of this.
 *
 * The logic is in pure functions (exported for the tests, tests/build_tools/test_versions_js.py);
 * `start` applies them to the page.
 */
(function (global) {
  "use strict";

  var TAG = /^v\d+\.\d+\.\d+$/;

  /* Where the page is: {siteRoot, publishedRoot (absolute URLs ending in "/"), pagePath (from the
   * site root, e.g. "report/cohort.html"), releaseTag (the folder's tag, or null at the root),
   * depth (folders from the published root to the page's folder)}. */
  function locate(pageURL, offset) {
    var page = new URL(pageURL);
    page.hash = "";
    page.search = "";
    var siteRoot = new URL(offset || "./", page);
    var pagePath = page.href.slice(siteRoot.href.length);
    if (page.href.indexOf(siteRoot.href) !== 0) pagePath = "index.html";
    if (pagePath === "" || pagePath.charAt(pagePath.length - 1) === "/") pagePath += "index.html";
    pagePath = decodeURIComponent(pagePath);
    var segments = siteRoot.pathname.split("/").filter(function (s) { return s !== ""; });
    var last = segments.length ? decodeURIComponent(segments[segments.length - 1]) : "";
    var releaseTag = TAG.test(last) ? last : null;
    var publishedRoot = releaseTag ? new URL("../", siteRoot).href : siteRoot.href;
    var depth = pagePath.split("/").length - 1 + (releaseTag ? 1 : 0);
    return { siteRoot: siteRoot.href, publishedRoot: publishedRoot, pagePath: pagePath,
             releaseTag: releaseTag, depth: depth };
  }

  function up(depth) {
    var way = "";
    for (var i = 0; i < depth; i++) way += "../";
    return way;
  }

  /* The version this page shows: its folder's tag, or the latest at the published root. */
  function thisVersion(where, data) {
    return where.releaseTag || (data && data.latest) || null;
  }

  /* The page of `release` a reader switching from this page lands on: the same page when that
   * version has it, else that version's home. */
  function targetPage(release, pagePath) {
    var pages = release.pages;
    return pages && pages.indexOf(pagePath) >= 0 ? pagePath : "index.html";
  }

  /* A relative link from this page to `pagePath` of `release`. */
  function linkTo(where, release, pagePath) {
    return up(where.depth) + release.path + targetPage(release, pagePath);
  }

  /* The switcher's entries, newest first: {tag, href, current, latest}. */
  function switcherEntries(where, data) {
    var current = thisVersion(where, data);
    return (data.versions || []).map(function (release) {
      return { tag: release.tag, href: linkTo(where, release, where.pagePath),
               current: release.tag === current, latest: release.tag === data.latest };
    });
  }

  /* {tag, href} of the same page in the latest release when this page is of an older one, else null. */
  function banner(where, data) {
    var current = thisVersion(where, data);
    if (!data.latest || !current || current === data.latest) return null;
    var latest = (data.versions || []).filter(function (r) { return r.tag === data.latest; })[0];
    if (!latest) return null;
    return { tag: latest.tag, current: current, href: linkTo(where, latest, where.pagePath) };
  }

  /* The permanent address of the version this page shows (its vX.Y.Z/ folder). */
  function versionURL(where, data) {
    var current = thisVersion(where, data);
    var release = (data.versions || []).filter(function (r) { return r.tag === current; })[0];
    return release ? new URL(release.path, where.publishedRoot).href : null;
  }

  /* A BibTeX entry with its url field set (replacing one that is there). */
  function bibtexWithURL(bibtex, url) {
    var body = bibtex.replace(/^[ \t]*url\s*=\s*\{[^}]*\},?[ \t]*\n?/m, "").replace(/\s*\}\s*$/, "");
    return body.replace(/,\s*$/, "") + ",\n  url = {" + url + "}\n}\n";
  }

  // --- the page ----------------------------------------------------------------------------------

  function element(document, name, attributes, text) {
    var node = document.createElement(name);
    Object.keys(attributes || {}).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function fillSwitcher(document, where, data) {
    var entries = switcherEntries(where, data);
    var current = thisVersion(where, data);
    var toggle = document.getElementById("nav-menu-version");
    var menu = toggle && toggle.parentNode && toggle.parentNode.querySelector(".dropdown-menu");
    if (!menu) {  // no navbar placeholder: a small list at the top of the page instead
      menu = element(document, "ul", { "class": "report-version-list" });
      var box = element(document, "details", { "class": "report-version-switcher" });
      box.appendChild(element(document, "summary", {}, "Version " + current));
      box.appendChild(menu);
      var main = document.querySelector("main") || document.body;
      main.insertBefore(box, main.firstChild);
    } else {
      var label = toggle.querySelector(".menu-text") || toggle;
      label.textContent = current;
    }
    entries.slice().reverse().forEach(function (entry) {
      var item = element(document, "li", {});
      var link = element(document, "a", { "class": "dropdown-item report-version-item" + (entry.current ? " active" : ""),
                                          "href": entry.href },
                         entry.tag + (entry.latest ? " (latest)" : "") + (entry.current ? " ✓" : ""));
      if (entry.current) link.setAttribute("aria-current", "page");
      item.appendChild(link);
      menu.insertBefore(item, menu.firstChild);
    });
  }

  function showBanner(document, where, data) {
    var old = banner(where, data);
    if (!old) return;
    var note = element(document, "div", { "class": "report-old-version", "role": "note" });
    note.appendChild(document.createTextNode("You are reading an old version of this report (" + old.current +
                                             "). The latest is " + old.tag + ": "));
    note.appendChild(element(document, "a", { "href": old.href }, "this page in " + old.tag));
    note.appendChild(document.createTextNode("."));
    var main = document.querySelector("main") || document.body;
    main.insertBefore(note, main.firstChild);
  }

  function fillCitation(document, where, data) {
    var url = versionURL(where, data);
    if (!url) return;
    Array.prototype.forEach.call(document.querySelectorAll(".report-version-url"), function (node) {
      node.textContent = "";
      node.appendChild(element(document, "a", { "href": url }, url));
    });
    Array.prototype.forEach.call(document.querySelectorAll("pre.report-bibtex, .report-bibtex pre"), function (node) {
      var text = bibtexWithURL(node.textContent, url);
      node.textContent = text;
      Array.prototype.forEach.call(document.querySelectorAll("a.report-bibtex-download"), function (link) {
        link.setAttribute("href", "data:application/x-bibtex;charset=utf-8," + encodeURIComponent(text));
      });
    });
  }

  function apply(document, where, data) {
    fillSwitcher(document, where, data);
    showBanner(document, where, data);
    fillCitation(document, where, data);
  }

  function start(window) {
    var document = window.document;
    var meta = document.querySelector('meta[name="quarto:offset"]');
    var where = locate(window.location.href, meta ? meta.getAttribute("content") : "./");
    var script = document.createElement("script");
    script.src = up(where.depth) + "versions.js";
    script.onload = function () {
      if (window.REPORT_VERSIONS) apply(document, where, window.REPORT_VERSIONS);
    };
    document.body.appendChild(script);  // no versions.js (an unpublished render): nothing happens
  }

  var api = { locate: locate, thisVersion: thisVersion, targetPage: targetPage, switcherEntries: switcherEntries,
              banner: banner, versionURL: versionURL, bibtexWithURL: bibtexWithURL, apply: apply, start: start };
  if (typeof module !== "undefined" && module.exports) {
    module.exports = api;
  } else if (global.document) {
    start(global);
  }
})(typeof window !== "undefined" ? window : this);
