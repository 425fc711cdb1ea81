/* The demo simulator: chat as a staff member through the fake LINE platform.
   Every tap becomes a real webhook event (built and signed by the fake platform); the page only
   draws what the platform accepted from the bot. All text goes through textContent. */
(function () {
  "use strict";

  const setup = JSON.parse(document.getElementById("sim-setup").textContent);
  const NEW_USER = "__new__";
  const params = new URLSearchParams(window.location.search);
  const $ = (id) => document.getElementById(id);
  const state = {
    tab: "user",
    people: setup.people,
    group: setup.group,
    userId: null,
    posterId: null,
    shown: "",
    fastUntil: 0,
  };

  // ---- small helpers -------------------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function toast(message) {
    const box = $("toast");
    box.textContent = message;
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { box.hidden = true; }, 3000);
  }

  function randomUserId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return "U" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function clock(epochSeconds) {
    return new Date(epochSeconds * 1000).toLocaleTimeString("th-TH", {
      hour: "2-digit", minute: "2-digit", timeZone: "Asia/Bangkok",
    });
  }

  function nameOf(userId) {
    const person = state.people.find((p) => p.id === userId);
    return person ? person.name : "ผู้ใช้ใหม่";
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || "HTTP " + response.status);
    return data;
  }

  // ---- people and chats ------------------------------------------------------------------------

  function fillPeople() {
    const who = $("who");
    const poster = $("poster");
    // The server rendered first options; only a choice made on the page is worth keeping.
    const keepWho = state.filled ? who.value : "";
    const keepPoster = state.filled ? poster.value : "";
    state.filled = true;
    who.replaceChildren();
    poster.replaceChildren();
    for (const p of state.people) {
      const label = p.code + " " + p.name + (p.roles.includes("it") ? " (ไอที)" : "");
      who.append(new Option(label, p.id));
      poster.append(new Option(label, p.id));
    }
    const newUser = new Option("ผู้ใช้ใหม่ (ยังไม่ลงทะเบียน)", NEW_USER);
    who.append(newUser);
    const newId = sessionStorage.getItem("sim.newUser");
    const asked = state.people.find((p) => p.code === params.get("as"));  // e.g. ?as=S021
    if (keepWho) who.value = keepWho;
    else if (asked) who.value = asked.id;
    else if (sessionStorage.getItem("sim.who")) who.value = sessionStorage.getItem("sim.who");
    if (!who.value) who.selectedIndex = 0;
    if (who.value === NEW_USER && newId && state.people.some((p) => p.id === newId)) {
      who.value = newId; // the new user registered: they now appear by name
    }
    const firstIt = state.people.find((p) => p.roles.includes("it"));
    poster.value = keepPoster || (firstIt ? firstIt.id : (state.people[0] || {}).id || "");
    $("group-id").textContent = state.group.id || "ยังไม่ได้ตั้งกลุ่มไอที";
    chooseUser(false);
    state.posterId = poster.value || null;
  }

  function chooseUser(fresh) {
    const value = $("who").value;
    if (value === NEW_USER) {
      let id = sessionStorage.getItem("sim.newUser");
      if (fresh || !id || state.people.some((p) => p.id === id)) {
        id = randomUserId();
        sessionStorage.setItem("sim.newUser", id);
      }
      state.userId = id;
    } else {
      state.userId = value || null;
    }
    sessionStorage.setItem("sim.who", value);
  }

  async function refreshPeople() {
    try {
      const data = await post(setup.api.people, {});
      const before = JSON.stringify(state.people);
      state.people = data.people;
      state.group = data.group;
      if (JSON.stringify(state.people) !== before) fillPeople();
    } catch (err) { /* the next refresh will try again */ }
  }

  function currentChat() {
    return state.tab === "group"
      ? { chat: "group", user: state.posterId }
      : { chat: "user", user: state.userId };
  }

  // ---- sending -----------------------------------------------------------------------------------

  async function send(kind, fields) {
    const chat = currentChat();
    if (!chat.user) { toast("เลือกผู้ใช้ก่อน"); return; }
    const body = Object.assign({ kind: kind }, chat, fields || {});
    if (kind === "text" && chat.chat === "group") body.mention = $("mention").checked;
    try {
      const result = await post(setup.api.send, body);
      if (!result.ok) toast("LINE จำลองส่งไม่สำเร็จ (HTTP " + result.status + ")");
    } catch (err) {
      toast(err.message);
    }
    state.fastUntil = Date.now() + 8000;
    poll();
    if (kind === "text" || kind === "postback") setTimeout(refreshPeople, 1500);
  }

  function runAction(action) {
    if (!action || typeof action !== "object") return;
    switch (action.type) {
      case "postback":
        send("postback", { data: action.data, display: action.displayText || action.text || "" });
        break;
      case "message":
        send("text", { text: action.text });
        break;
      case "uri":
        if (/^https?:/i.test(action.uri || "")) window.open(action.uri, "_blank", "noopener");
        else toast("ลิงก์นี้เปิดได้ในแอป LINE เท่านั้น");
        break;
      case "camera":
      case "cameraRoll":
        if (state.tab === "user") send("image");
        else toast("ส่งรูปได้ในแชตส่วนตัว");
        break;
      default:
        toast("เครื่องจำลองยังไม่รองรับปุ่มชนิด " + action.type);
    }
  }

  function actionButton(action, className) {
    const button = el("button", className, (action && action.label) || "ปุ่ม");
    button.type = "button";
    button.addEventListener("click", () => runAction(action));
    return button;
  }

  // ---- drawing messages ----------------------------------------------------------------------

  function flexComponent(c) {
    if (!c || typeof c !== "object") return el("span", "fx-unknown", "");
    switch (c.type) {
      case "box": {
        const box = el("div", "fx-box " + (c.layout || "vertical"));
        if (c.backgroundColor) box.style.background = c.backgroundColor;
        if (c.paddingAll) box.style.padding = /px$/.test(c.paddingAll) ? c.paddingAll : "";
        for (const child of c.contents || []) {
          const node = flexComponent(child);
          if ((c.layout === "horizontal" || c.layout === "baseline") && child.flex !== 0) {
            node.style.flex = String(child.flex === undefined ? 1 : child.flex);
          }
          box.append(node);
        }
        return box;
      }
      case "text": {
        const words = c.text || (c.contents || []).map((s) => s.text || "").join("");
        const p = el("p", "fx-text fx-" + (c.size || "md"), words);
        if (c.weight === "bold") p.classList.add("fx-bold");
        if (!c.wrap) p.classList.add("nowrap");
        if (c.color) p.style.color = c.color;
        if (c.align) p.style.textAlign = c.align === "end" ? "right" : c.align === "start" ? "left" : "center";
        return p;
      }
      case "button":
        return actionButton(c.action, "fx-button " + (c.style || "link") + (c.height === "sm" ? " sm" : ""));
      case "separator":
        return el("hr", "fx-sep");
      case "image":
        return el("div", "fx-image", "[รูปภาพ]");
      case "icon":
        return el("span", "fx-unknown", "•");
      case "filler":
      case "spacer":
        return el("div", "");
      default:
        return el("span", "fx-unknown", "[" + c.type + "] " + (c.text || ""));
    }
  }

  function flexBubble(bubble) {
    if (!bubble || bubble.type !== "bubble") return el("div", "bubble", "[" + ((bubble || {}).type || "?") + "]");
    const card = el("div", "flex-bubble " + (bubble.size || "mega"));
    for (const part of ["header", "hero", "body", "footer"]) {
      if (!bubble[part]) continue;
      const block = el("div", "flex-block " + part);
      block.append(flexComponent(bubble[part]));
      card.append(block);
    }
    return card;
  }

  function botMessage(message) {
    switch (message.type) {
      case "text":
        return el("div", "bubble", message.text);
      case "flex": {
        const contents = message.contents || {};
        if (contents.type === "carousel") {
          const strip = el("div", "flex-carousel");
          for (const b of contents.contents || []) strip.append(flexBubble(b));
          return strip;
        }
        return flexBubble(contents);
      }
      case "template": {
        const t = message.template || {};
        const box = el("div", "bubble");
        box.append(el("div", "", t.title ? t.title + "\n" + (t.text || "") : (t.text || message.altText)));
        const actions = el("div", "template-actions");
        for (const a of t.actions || []) actions.append(actionButton(a, "fx-button secondary sm"));
        box.append(actions);
        return box;
      }
      case "image":
        return el("div", "photo", "[รูปภาพ]");
      case "sticker":
        return el("div", "bubble", "[สติกเกอร์]");
      default:
        return el("div", "bubble", "[" + message.type + "] " + (message.altText || message.text || ""));
    }
  }

  function drawItem(item) {
    const row = el("div", "row " + (item.from === "bot" ? "bot" : item.from === "note" ? "note" : "user"));
    if (item.from === "bot") {
      row.append(botMessage(item.message || {}));
    } else if (item.from === "note") {
      row.append(el("div", "bubble", nameOf(item.userId) + " " + item.text));
      return row;
    } else {
      if (state.tab === "group") row.append(el("div", "who", nameOf(item.userId)));
      row.append(item.kind === "image" ? el("div", "photo", "รูปที่ส่ง") : el("div", "bubble", item.text));
    }
    row.append(el("div", "time", clock(item.at)));
    return row;
  }

  function drawQuickReplies(items) {
    const bar = $("quick");
    bar.replaceChildren();
    const last = items[items.length - 1];
    const quick = last && last.from === "bot" && last.message && last.message.quickReply;
    if (!quick || !quick.items || !quick.items.length) { bar.hidden = true; return; }
    for (const entry of quick.items) bar.append(actionButton(entry.action, "chip"));
    bar.hidden = false;
  }

  function draw(items) {
    const chat = $("chat");
    const nearBottom = chat.scrollHeight - chat.scrollTop - chat.clientHeight < 80;
    chat.replaceChildren();
    if (!items.length) {
      chat.append(el("p", "empty", state.tab === "group"
        ? "ยังไม่มีข้อความในกลุ่ม ลองแท็กบอทแล้วพิมพ์ /help"
        : "ยังไม่มีข้อความ ลองพิมพ์ \"เมนู\" หรือกดปุ่มเมนูด้านล่าง"));
    }
    for (const item of items) chat.append(drawItem(item));
    drawQuickReplies(items);
    if (nearBottom || state.justSwitched) chat.scrollTop = chat.scrollHeight;
    state.justSwitched = false;
  }

  async function poll() {
    const chat = currentChat();
    if (!chat.user && chat.chat === "user") return;
    try {
      const data = await post(setup.api.messages, chat.chat === "group" ? { chat: "group" } : chat);
      const signature = state.tab + "|" + chat.user + "|" + JSON.stringify(data.items);
      if (signature !== state.shown) {
        state.shown = signature;
        draw(data.items);
      }
    } catch (err) { /* the server may be restarting; try again on the next tick */ }
  }

  function loop() {
    const every = Date.now() < state.fastUntil ? 400 : 1500;
    poll().finally(() => setTimeout(loop, every));
  }

  // ---- rich menu -----------------------------------------------------------------------------

  function drawRichMenu() {
    const menu = setup.richMenu;
    const grid = $("richmenu-grid");
    const bar = $("richmenu-bar");
    grid.style.backgroundImage = "url(" + JSON.stringify(menu.image) + ")";
    grid.style.paddingTop = (menu.aspect * 100).toFixed(3) + "%";
    for (const area of menu.areas) {
      const button = actionButton(area.action, "area");
      button.setAttribute("aria-label", area.action.label || "");
      button.style.left = area.left + "%";
      button.style.top = area.top + "%";
      button.style.width = area.width + "%";
      button.style.height = area.height + "%";
      grid.append(button);
    }
    const label = () => menu.chatBarText + (grid.parentElement.classList.contains("closed") ? " ▴" : " ▾");
    bar.textContent = label();
    bar.addEventListener("click", () => {
      const closed = grid.parentElement.classList.toggle("closed");
      bar.setAttribute("aria-expanded", String(!closed));
      bar.textContent = label();
    });
  }

  // ---- wiring --------------------------------------------------------------------------------

  function switchTab(tab) {
    state.tab = tab;
    for (const button of document.querySelectorAll(".tab")) {
      const active = button.dataset.tab === tab;
      button.classList.toggle("active", active);
      button.setAttribute("aria-selected", String(active));
    }
    for (const section of document.querySelectorAll("[data-for]")) section.hidden = section.dataset.for !== tab;
    state.shown = "";
    state.justSwitched = true;
    poll();
  }

  for (const button of document.querySelectorAll(".tab")) {
    button.addEventListener("click", () => switchTab(button.dataset.tab));
  }
  $("who").addEventListener("change", () => { chooseUser(true); state.shown = ""; state.justSwitched = true; poll(); });
  $("poster").addEventListener("change", () => { state.posterId = $("poster").value; });
  $("follow").addEventListener("click", () => send("follow"));
  $("join").addEventListener("click", () => send("join"));
  $("leave").addEventListener("click", () => send("leave"));
  $("photo").addEventListener("click", () => {
    if (state.tab === "user") send("image");
    else toast("ส่งรูปได้ในแชตส่วนตัว");
  });
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("text");
    const words = input.value.trim();
    if (!words) return;
    input.value = "";
    send("text", { text: words });
  });

  fillPeople();
  drawRichMenu();
  if (params.get("tab") === "group") switchTab("group");
  loop();
})();
