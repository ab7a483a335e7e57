/**
 * The sidebar: experiments -> runs -> run details (code, params, metric curves); models -> versions with
 * alias badges; deployments with their health. Built from text nodes only: run names, code and
 * parameters are user text and are never parsed as HTML.
 */
import { Widget } from '@lumino/widgets';

import { get, Json } from './api';

const PAGE = 50;

function el(tag: string, className = '', text?: string): HTMLElement {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

function short(value: unknown): string {
  if (typeof value === 'number') {
    return Number.isInteger(value) ? String(value) : value.toPrecision(4);
  }
  return String(value);
}

function table(pairs: Record<string, unknown>, className: string): HTMLElement {
  const node = el('table', `jp-mlops-kv ${className}`);
  for (const [key, value] of Object.entries(pairs)) {
    const row = el('tr');
    row.append(el('th', '', key), el('td', '', short(value)));
    node.append(row);
  }
  return node;
}

/** A small line chart of one metric series (SVG, no library). */
function curve(key: string, steps: number[], values: (number | null)[]): HTMLElement {
  const box = el('div', 'jp-mlops-curve');
  box.append(el('div', 'jp-mlops-curve-title', key));
  const points = steps.map((s, i) => [s, values[i]]).filter(p => p[1] !== null) as number[][];
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 200 60');
  svg.setAttribute('width', '200');
  svg.setAttribute('height', '60');
  if (points.length > 0) {
    const xs = points.map(p => p[0]);
    const ys = points.map(p => p[1]);
    const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const sx = (x: number) => (x1 === x0 ? 100 : ((x - x0) / (x1 - x0)) * 196 + 2);
    const sy = (y: number) => (y1 === y0 ? 30 : 58 - ((y - y0) / (y1 - y0)) * 56);
    const line = document.createElementNS(ns, 'polyline');
    line.setAttribute('points', points.map(p => `${sx(p[0])},${sy(p[1])}`).join(' '));
    line.setAttribute('fill', 'none');
    line.setAttribute('stroke', 'var(--jp-brand-color1)');
    line.setAttribute('stroke-width', '1.5');
    svg.append(line);
  }
  box.append(svg);
  box.append(el('div', 'jp-mlops-curve-range', points.length ? `${points.length} points, last ${short(points[points.length - 1][1])}` : 'no points'));
  return box;
}

export class Sidebar extends Widget {
  private experiment: string | null = null;
  private runId: string | null = null;
  private model: string | null = null;
  private readonly body: HTMLElement;
  private readonly error: HTMLElement;

  constructor() {
    super();
    this.addClass('jp-mlops-sidebar');
    const header = el('div', 'jp-mlops-header');
    header.append(el('span', 'jp-mlops-title', 'MLOps'));
    const button = el('button', 'jp-mlops-refresh jp-Button', 'Refresh');
    button.title = 'Read the database again';
    button.onclick = () => void this.refresh();
    header.append(button);
    this.error = el('div', 'jp-mlops-error');
    this.body = el('div', 'jp-mlops-body');
    this.node.append(header, this.error, this.body);
  }

  protected onAfterShow(): void {
    void this.refresh();
  }

  /** Read everything shown again, keeping what is selected. One refresh at a time: a call during one
   * makes it run once more at its end. Nodes are replaced only when what they show changed, so a click
   * never lands on a node that a timed refresh just swapped out. */
  async refresh(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        await this.render();
      } while (this.again);
    } finally {
      this.running = false;
    }
  }

  private running = false;
  private again = false;

  private async render(): Promise<void> {
    try {
      const [experiments, models, deployments] = await Promise.all([
        get('experiments'),
        get('models'),
        get('deployments')
      ]);
      const sections = [this.experiments(experiments), this.models(models), this.deployments(deployments)];
      const fresh = el('div', 'jp-mlops-body');
      fresh.append(...(await Promise.all(sections)));
      if (fresh.innerHTML !== this.body.innerHTML) {
        this.body.replaceChildren(...Array.from(fresh.childNodes));
      }
      this.error.textContent = '';
    } catch (error) {
      this.error.textContent = (error as Error).message;
    }
  }

  private section(title: string): HTMLElement {
    const node = el('section', 'jp-mlops-section');
    node.append(el('h3', '', title));
    return node;
  }

  private async experiments(experiments: Json[]): Promise<HTMLElement> {
    const node = this.section('Experiments');
    for (const experiment of experiments) {
      const item = el('div', 'jp-mlops-experiment jp-mlops-item', experiment.name);
      item.dataset.name = experiment.name;
      item.onclick = () => {
        this.experiment = this.experiment === experiment.name ? null : experiment.name;
        this.runId = null;
        void this.refresh();
      };
      node.append(item);
      if (this.experiment === experiment.name) {
        item.classList.add('jp-mod-selected');
        node.append(await this.runs(experiment.name));
      }
    }
    if (experiments.length === 0) {
      node.append(el('div', 'jp-mlops-empty', 'No runs yet: put %%experiment on a cell and run it.'));
    }
    return node;
  }

  private async runs(experiment: string): Promise<HTMLElement> {
    const page = await get('runs', { experiment, limit: PAGE });
    const list = el('div', 'jp-mlops-runs');
    for (const run of page.runs) {
      const item = el('div', `jp-mlops-run jp-mlops-item jp-mlops-status-${run.status}`);
      item.dataset.runId = run.run_id;
      const metrics = Object.entries(run.metrics)
        .slice(0, 2)
        .map(([k, v]) => `${k}=${short(v)}`)
        .join(' ');
      item.append(el('span', 'jp-mlops-run-name', run.run_name), el('span', 'jp-mlops-badge', run.status));
      if (metrics) {
        item.append(el('span', 'jp-mlops-run-metrics', metrics));
      }
      item.onclick = event => {
        event.stopPropagation();
        this.runId = this.runId === run.run_id ? null : run.run_id;
        void this.refresh();
      };
      list.append(item);
      if (this.runId === run.run_id) {
        item.classList.add('jp-mod-selected');
        list.append(await this.details(run.run_id));
      }
    }
    if (page.total > page.runs.length) {
      list.append(el('div', 'jp-mlops-more', `${page.runs.length} of ${page.total} runs shown`));
    }
    return list;
  }

  private async details(runId: string): Promise<HTMLElement> {
    const run = await get(`runs/${runId}`);
    const node = el('div', 'jp-mlops-details');
    node.append(el('div', 'jp-mlops-details-id', `run ${run.run_id.slice(0, 8)} · ${run.status}`));
    if (Object.keys(run.params).length) {
      node.append(el('h4', '', 'Parameters'), table(run.params, 'jp-mlops-params'));
    }
    if (Object.keys(run.metrics).length) {
      node.append(el('h4', '', 'Metrics'), table(run.metrics, 'jp-mlops-metrics'));
      const curves = el('div', 'jp-mlops-curves');
      for (const [key, series] of Object.entries(run.series as Record<string, Json>)) {
        if (series.steps.length > 1) {
          curves.append(curve(key, series.steps, series.values));
        }
      }
      node.append(curves);
    }
    node.append(el('h4', '', 'Code'), el('pre', 'jp-mlops-code', run.code || ''));
    if (run.error) {
      node.append(el('h4', '', 'Error'), el('pre', 'jp-mlops-run-error', run.error));
    }
    return node;
  }

  private async models(models: Json[]): Promise<HTMLElement> {
    const node = this.section('Models');
    for (const model of models) {
      const item = el('div', 'jp-mlops-model jp-mlops-item');
      item.dataset.name = model.name;
      item.append(el('span', '', `${model.name} (${model.versions})`));
      for (const [alias, version] of Object.entries(model.aliases)) {
        item.append(el('span', 'jp-mlops-alias', `@${alias}:${version}`));
      }
      item.onclick = () => {
        this.model = this.model === model.name ? null : model.name;
        void this.refresh();
      };
      node.append(item);
      if (this.model === model.name) {
        item.classList.add('jp-mod-selected');
        const versions = await get(`models/${encodeURIComponent(model.name)}`);
        for (const version of versions) {
          const row = el('div', 'jp-mlops-version', `v${version.version} ${version.flavor}`);
          for (const alias of version.aliases) {
            row.append(el('span', 'jp-mlops-alias', `@${alias}`));
          }
          const metrics = Object.entries(version.metrics)
            .slice(0, 2)
            .map(([k, v]) => `${k}=${short(v)}`)
            .join(' ');
          if (metrics) {
            row.append(el('span', 'jp-mlops-run-metrics', metrics));
          }
          node.append(row);
        }
      }
    }
    if (models.length === 0) {
      node.append(el('div', 'jp-mlops-empty', 'No registered models.'));
    }
    return node;
  }

  private async deployments(deployments: Json[]): Promise<HTMLElement> {
    const node = this.section('Deployments');
    for (const deployment of deployments) {
      const item = el('div', 'jp-mlops-deployment jp-mlops-item');
      item.append(
        el('span', '', deployment.name),
        el('span', `jp-mlops-badge jp-mlops-health-${deployment.healthy ? 'ok' : 'bad'}`, deployment.status),
        el('span', 'jp-mlops-url', deployment.url || '')
      );
      node.append(item);
    }
    if (deployments.length === 0) {
      node.append(el('div', 'jp-mlops-empty', 'No deployments.'));
    }
    return node;
  }
}
