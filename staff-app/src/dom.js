// Builds DOM nodes from data without innerHTML, so names and notes typed by staff can never become markup.
export function h(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (value === true) node.setAttribute(name, "");
    else node.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function show(container, ...nodes) {
  container.replaceChildren(...nodes.flat().filter(Boolean));
}

export function field(label, input, hint) {
  const id = input.id || `f-${Math.random().toString(36).slice(2)}`;
  input.id = id;
  const hintNode = hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null;
  if (hintNode) input.setAttribute("aria-describedby", hintNode.id);
  return h("div", {}, h("label", { for: id }, label), hintNode, input);
}

export function alertBox(message, ...extra) {
  return h("div", { class: "alert", role: "alert" }, h("p", {}, message), ...extra);
}

export function notice(message, ...extra) {
  return h("div", { class: "notice", role: "status" }, h("p", {}, message), ...extra);
}
