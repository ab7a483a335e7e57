// The runs table of the compare widget: filter box, "differences only", sortable headers, row selection.
// State comes from Python (rows, columns, sort, selected, filter_error). Clicks go back as custom messages
// ({type, value}): Python applies them to the traits, which come back here. Messages, unlike trait
// saves, are never held back by the widget manager's throttling while it waits for the kernel.
function render({ model, el }) {
  el.classList.add("mlops-runs");
  const bar = document.createElement("div");
  bar.className = "mlops-bar";
  const filter = document.createElement("input");
  filter.className = "mlops-filter";
  filter.placeholder = "filter, e.g. metrics.acc > 0.9 and params.model = 'rf'   (Enter)";
  filter.value = model.get("filter_text");
  filter.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      model.send({ type: "filter", value: filter.value });
    }
  });
  const diffOnly = document.createElement("label");
  diffOnly.className = "mlops-diff-only";
  const diffBox = document.createElement("input");
  diffBox.type = "checkbox";
  diffBox.checked = model.get("diff_only");
  diffBox.addEventListener("change", () => {
    model.send({ type: "diff_only", value: diffBox.checked });
  });
  diffOnly.append(diffBox, " differences only");
  const count = document.createElement("span");
  count.className = "mlops-count";
  bar.append(filter, diffOnly, count);
  const error = document.createElement("pre");
  error.className = "mlops-filter-error";
  const scroller = document.createElement("div");
  scroller.className = "mlops-scroller";
  const table = document.createElement("table");
  scroller.append(table);
  el.append(bar, error, scroller);

  function draw() {
    const columns = model.get("columns");
    const rows = model.get("rows");
    const selected = new Set(model.get("selected"));
    const [sortColumn, descending] = model.get("sort");
    error.textContent = model.get("filter_error");
    error.style.display = model.get("filter_error") ? "block" : "none";
    count.textContent = `${rows.length} runs, ${selected.size} selected`;
    table.replaceChildren();
    const head = table.createTHead().insertRow();
    head.insertCell().textContent = "";
    for (const column of columns) {
      const th = document.createElement("th");
      th.textContent = column + (column === sortColumn ? (descending ? " ▼" : " ▲") : "");
      th.dataset.column = column;
      th.addEventListener("click", () => {
        const [current, desc] = model.get("sort");
        console.log("mlops click", column, current, desc);
        model.send({ type: "sort", value: [column, column === current ? !desc : false] });
      });
      head.append(th);
    }
    const body = table.createTBody();
    for (const row of rows) {
      const tr = body.insertRow();
      tr.dataset.runId = row.id;
      if (selected.has(row.id)) tr.classList.add("mlops-selected");
      const pick = document.createElement("input");
      pick.type = "checkbox";
      pick.checked = selected.has(row.id);
      pick.addEventListener("change", () => {
        const now = model.get("selected").filter((id) => id !== row.id);
        if (pick.checked) now.push(row.id);
        model.send({ type: "selected", value: now });
      });
      tr.insertCell().append(pick);
      row.cells.forEach((value, i) => {
        const td = tr.insertCell();
        if (columns[i] === "status") {
          const badge = document.createElement("span");
          badge.className = `mlops-badge mlops-${value}`;
          badge.textContent = value;
          td.append(badge);
        } else {
          td.textContent = value;
        }
      });
    }
  }
  for (const name of ["rows", "columns", "selected", "sort", "filter_error"]) {
    model.on(`change:${name}`, draw);
  }
  draw();
}
export default { render };
