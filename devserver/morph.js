/*
 * morph.js -- the DOM morph of live reload, for overlay.js (both are
 * embedded as one script, /_cot/live.js, inside one function; see
 * mk/livereload.mk). overlay.js decides when a page is refetched and
 * whether the answer may be morphed; this file only morphs.
 *
 * morphPage(doc) turns the live <head> and <body> into those of `doc`
 * (the parsed answer) touching as little as it can:
 *  - A node equal to its new twin (isEqualNode) is left alone, subtree
 *    and all; a changed one is updated in place: text, attributes,
 *    children, recursively. Only nodes with no counterpart are removed
 *    or inserted (the new ones are adopted from `doc`, not cloned).
 *  - Children are matched in order. An element with an id matches the
 *    old sibling with that id (moved into place if it must be); one
 *    without matches the next old sibling of the same tag, except that
 *    an exact twin a few siblings ahead on either side means an insert
 *    or a delete (the nearer one wins; a tie inserts), so a row added
 *    at the top of a list or removed from it moves no other row.
 *  - State that lives in the DOM stays: an input or textarea the user
 *    typed into keeps its value (only the value attribute, its default,
 *    changes -- the browser keeps a "dirty" value), <details>/<dialog>
 *    keep `open`, a kept <video> keeps playing, focus and caret are
 *    restored if a move disturbed them. Scroll stays because the nodes
 *    do (no forced layout to read and reset it: the browser's scroll
 *    anchoring keeps what is in view in place if content above grows).
 *  - Never touched: elements marked data-cot-keep, and children of
 *    <head>/<body> that the server did not send (added by other scripts).
 */

var LOOKAHEAD = 16;
var served = typeof WeakSet === 'function' ? new WeakSet() : null;

function markServed() {
	[document.head, document.body].forEach(function (p) {
		for (var n = p && p.firstChild; n; n = n.nextSibling) served.add(n);
	});
}

/* Call once per page: notes what the server sent, once it is parsed. */
function morphStart() {
	if (served === null) return;
	if (document.readyState === 'loading')
		document.addEventListener('DOMContentLoaded', markServed);
	else
		markServed();
}

function kept(n, top) {
	return (n.nodeType === 1 && n.hasAttribute('data-cot-keep')) ||
	       (top && served !== null && !served.has(n));
}

/* Morphs element `from` into parsed element `to` (the browser tests' probe). */
function morphInto(from, to) {
	syncAttrs(from, to);
	morphChildren(from, to, false);
}

function morphPage(doc) {
	var active = document.activeElement, sel = selectionOf(active);
	syncAttrs(document.documentElement, doc.documentElement);
	morphChildren(document.head, doc.head, true);
	syncAttrs(document.body, doc.body);
	morphChildren(document.body, doc.body, true);
	if (active && active !== document.activeElement && active.isConnected) {
		active.focus({ preventScroll: true });
		if (sel) try { active.setSelectionRange(sel[0], sel[1], sel[2]); } catch (x) { /* */ }
	}
}

function selectionOf(el) {
	try {
		return el && typeof el.selectionStart === 'number' ?
			[el.selectionStart, el.selectionEnd, el.selectionDirection] : null;
	} catch (x) { return null; }
}

/* Makes the children of `from` (live) those of `to` (parsed). */
function morphChildren(from, to, top) {
	var news = Array.prototype.slice.call(to.childNodes), wanted = {};
	news.forEach(function (n) { if (n.nodeType === 1 && n.id) wanted[n.id] = true; });
	var cur = from.firstChild;
	for (var i = 0; i < news.length; i++) {
		while (cur && kept(cur, top)) cur = cur.nextSibling;
		var nw = news[i], m = match(cur, nw, news, i, wanted, top);
		if (m === null) {
			var add = document.adoptNode(nw);
			from.insertBefore(add, cur);
			if (top && served) served.add(add);
			continue;
		}
		var equal = matchedEqual;
		if (m !== cur) cur = bringUp(from, cur, m, wanted, top);
		else cur = cur.nextSibling;
		if (!equal && !m.isEqualNode(nw)) morphNode(m, nw);
	}
	while (cur) {
		var next = cur.nextSibling;
		if (!kept(cur, top)) from.removeChild(cur);
		cur = next;
	}
}

var matchedEqual = false; /* match() found the node equal to nw already */

/* The old node that becomes `nw`, or null: insert `nw`. */
function match(cur, nw, news, i, wanted, top) {
	var o, k;
	matchedEqual = false;
	if (nw.nodeType === 1 && nw.id) {
		for (o = cur; o; o = o.nextSibling)
			if (o.nodeType === 1 && o.id === nw.id && o.nodeName === nw.nodeName &&
			    !kept(o, top))
				return o;
		return null;
	}
	if (cur === null) return null;
	if (cur.isEqualNode(nw)) {
		matchedEqual = true;
		return cur;
	}
	/* the nearer of: nw's twin ahead in the old list (the nodes before
	 * it were deleted) or cur's twin ahead in the new list (nw is new);
	 * on a tie, insert -- it destroys nothing */
	var del = null, ins = LOOKAHEAD + 1;
	for (k = i + 1; k < news.length && k <= i + LOOKAHEAD; k++)
		if (news[k].isEqualNode(cur)) {
			ins = k - i;
			break;
		}
	for (o = cur.nextSibling, k = 1; o && k < ins; o = o.nextSibling, k++) {
		if (o.nodeType === 1 && wanted[o.id]) break;
		if (!kept(o, top) && o.isEqualNode(nw)) {
			del = o;
			break;
		}
	}
	if (del !== null) {
		matchedEqual = true;
		return del;
	}
	if (ins <= LOOKAHEAD) return null;
	if (similar(cur, nw, wanted)) return cur;
	/* cur has no place here: a similar node a little further on does,
	 * unless that one is where the next new element belongs */
	var next = null;
	for (k = i + 1; k < news.length && next === null; k++)
		if (news[k].nodeType === 1) next = news[k];
	for (o = cur.nextSibling, k = 0; o && k < LOOKAHEAD; o = o.nextSibling, k++) {
		if (o.nodeType === 1 && wanted[o.id]) break;
		if (o.nodeType === 1 && next && similar(o, next, wanted)) break;
		if (!kept(o, top) && similar(o, nw, wanted)) return o;
	}
	return null;
}

/* Same kind of node, and not an element some later sibling wants by id. */
function similar(o, nw, wanted) {
	return o.nodeType === nw.nodeType && o.nodeName === nw.nodeName &&
	       !(o.nodeType === 1 && o.id && (wanted[o.id] || nw.id !== o.id));
}

/*
 * `m` matched ahead of `cur`: the nodes between are deletions, unless one
 * is wanted later by id or kept -- then `m` moves up instead (a reorder).
 * Returns the new cursor.
 */
function bringUp(from, cur, m, wanted, top) {
	var between = [];
	for (var o = cur; o !== m; o = o.nextSibling) {
		if (kept(o, top) || (o.nodeType === 1 && wanted[o.id])) {
			from.insertBefore(m, cur);
			return cur;
		}
		between.push(o);
	}
	between.forEach(function (n) { from.removeChild(n); });
	return m.nextSibling;
}

function morphNode(old, nw) {
	if (old.nodeType !== 1) {
		if (old.nodeValue !== nw.nodeValue) old.nodeValue = nw.nodeValue;
		return;
	}
	syncAttrs(old, nw);
	if (old.nodeName === 'TEXTAREA') {
		/* its text is its default value; a typed (dirty) value stays */
		if (old.defaultValue !== nw.defaultValue) old.defaultValue = nw.defaultValue;
	} else if (old.nodeName === 'TEMPLATE') {
		if (old.innerHTML !== nw.innerHTML) old.innerHTML = nw.innerHTML;
	} else {
		morphChildren(old, nw, false);
	}
}

/* Attribute values the user, not the server, owns (or that only our
 * cache-busting query changed). */
function ownedByPage(el, name, value) {
	if (name === 'open' && (el.nodeName === 'DETAILS' || el.nodeName === 'DIALOG'))
		return true;
	if (name === 'href' && el.nodeName === 'LINK' && value !== null) {
		var u = new URL(el.getAttribute('href') || '', location.href);
		u.searchParams.delete('cot');
		return u.href === new URL(value, location.href).href;
	}
	return false;
}

function syncAttrs(old, nw) {
	var a = nw.attributes, i, at;
	for (i = 0; i < a.length; i++) {
		at = a[i];
		if (ownedByPage(old, at.name, at.value)) continue;
		if (at.namespaceURI) {
			if (old.getAttributeNS(at.namespaceURI, at.localName) !== at.value)
				old.setAttributeNS(at.namespaceURI, at.name, at.value);
		} else if (old.getAttribute(at.name) !== at.value) {
			old.setAttribute(at.name, at.value);
		}
	}
	var b = old.attributes;
	for (i = b.length - 1; i >= 0; i--) {
		at = b[i];
		if (at.namespaceURI ? nw.hasAttributeNS(at.namespaceURI, at.localName)
		                    : nw.hasAttribute(at.name)) continue;
		if (ownedByPage(old, at.name, null)) continue;
		if (at.namespaceURI) old.removeAttributeNS(at.namespaceURI, at.localName);
		else old.removeAttribute(at.name);
	}
}
