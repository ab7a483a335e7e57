// The registry browser: models, the selected model's versions (alias badges, metrics, run link, promote),
// the alias history and the card of what was clicked. State comes from Python; clicks go back as custom
// messages ({type, ...}), which Python applies before sending the new state.
function el_(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function render({ model, el }) {
  el.classList.add("mlops-models");
  const side = el_("div", "mlops-model-list");
  const main = el_("div", "mlops-model-main");
  el.append(side, main);

  function badge(alias, onRemove) {
    const b = el_("span", "mlops-alias", "@" + alias);
    b.dataset.alias = alias;
    if (onRemove) {
      const x = el_("button", "mlops-demote", "×");
      x.title = `remove @${alias}`;
      x.addEventListener("click", (event) => {
        event.stopPropagation();
        onRemove();
      });
      b.append(x);
    }
    return b;
  }

  function draw() {
    const selected = model.get("selected");
    side.replaceChildren(el_("div", "mlops-heading", "Models"));
    for (const m of model.get("models")) {
      const item = el_("div", "mlops-model" + (m.name === selected ? " mlops-current" : ""));
      item.dataset.name = m.name;
      item.append(el_("span", "mlops-model-name", m.name), el_("span", "mlops-count", ` v${m.latest}`));
      for (const alias of Object.keys(m.aliases)) item.append(badge(alias));
      item.addEventListener("click", () => model.send({ type: "select", value: m.name }));
      side.append(item);
    }
    main.replaceChildren();
    if (!selected) {
      main.append(el_("p", "", "No registered models yet: mlops.register_model(model, 'name') registers one."));
      return;
    }
    const bar = el_("div", "mlops-bar");
    const aliasInput = el_("input", "mlops-alias-input");
    aliasInput.value = el.dataset.alias || "champion";
    aliasInput.addEventListener("input", () => (el.dataset.alias = aliasInput.value));
    const refresh = el_("button", "mlops-refresh", "Refresh");
    refresh.addEventListener("click", () => model.send({ type: "refresh" }));
    bar.append(el_("b", "", selected), el_("span", "", "promote to @"), aliasInput, refresh);
    const gates = model.get("gates");
    const gateText = Object.entries(gates).map(([a, g]) => `@${a} requires ${g}`).join("; ");
    if (gateText) bar.append(el_("span", "mlops-gates", gateText));
    main.append(bar);
    const message = el_("div", "mlops-message", model.get("message"));
    const error = el_("pre", "mlops-error", model.get("error"));
    error.style.display = model.get("error") ? "block" : "none";
    main.append(message, error);

    const versions = model.get("versions");
    const metricNames = [...new Set(versions.flatMap((v) => Object.keys(v.metrics)))].slice(0, 8);
    const table = el_("table", "mlops-versions");
    const head = table.createTHead().insertRow();
    for (const h of ["version", "aliases", "registered", "by", "run", "flavor", ...metricNames, ""]) {
      head.append(el_("th", "", h));
    }
    const body = table.createTBody();
    for (const v of versions) {
      const row = body.insertRow();
      row.dataset.version = v.version;
      const num = el_("a", "mlops-version", `v${v.version}`);
      num.href = "#";
      num.addEventListener("click", (event) => {
        event.preventDefault();
        model.send({ type: "card", version: v.version });
      });
      row.insertCell().append(num);
      const aliasCell = row.insertCell();
      for (const a of v.aliases) aliasCell.append(badge(a, () => model.send({ type: "demote", alias: a })));
      row.insertCell().textContent = v.created;
      row.insertCell().textContent = v.author;
      const runCell = row.insertCell();
      if (v.run) {
        const link = el_("a", "mlops-run", v.run.slice(0, 8));
        link.href = "#";
        link.addEventListener("click", (event) => {
          event.preventDefault();
          model.send({ type: "run", value: v.run });
        });
        runCell.append(link);
      } else {
        runCell.textContent = "-";
      }
      row.insertCell().textContent = v.flavor;
      for (const name of metricNames) {
        const value = v.metrics[name];
        row.insertCell().textContent = value === undefined || value === null ? "" : String(value);
      }
      const actions = row.insertCell();
      if (v.flagged) actions.append(el_("span", "mlops-flag", "⚠ group gap"));
      const promote = el_("button", "mlops-promote", "Promote");
      promote.title = "point the alias typed above at this version (its gate is checked)";
      promote.addEventListener("click", () =>
        model.send({ type: "promote", version: v.version, alias: aliasInput.value }),
      );
      actions.append(promote);
      if (model.get("deployable")) {
        const deploy = el_("button", "mlops-deploy", "Deploy");
        deploy.addEventListener("click", () => model.send({ type: "deploy", version: v.version }));
        actions.append(deploy);
      }
    }
    main.append(table);

    const history = model.get("history");
    if (history.length) {
      main.append(el_("div", "mlops-heading", "Alias history"));
      const h = el_("table", "mlops-history");
      for (const e of history) {
        const r = h.insertRow();
        for (const text of [e.time, "@" + e.alias, `${e.from ?? "-"} → ${e.to ?? "-"}`, e.user]) {
          r.insertCell().textContent = text;
        }
      }
      main.append(h);
    }
    const card = el_("div", "mlops-card-pane");
    // The card is built by Python with every stored value HTML-escaped.
    card.innerHTML = model.get("card");
    main.append(card);
  }

  for (const name of ["models", "selected", "versions", "history", "gates", "card", "message", "error"]) {
    model.on(`change:${name}`, draw);
  }
  draw();
}

export default { render };
