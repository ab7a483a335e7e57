/**
 * The MLOps sidebar, the "Track cell as experiment" command and the status-bar item. Everything shown
 * comes from the server extension's REST API (/jupyter-mlops/api/), which reads the same database as
 * the notebook's %%experiment cells.
 */
import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IStatusBar } from '@jupyterlab/statusbar';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { get } from './api';
import { Sidebar } from './sidebar';

const TRACK = 'jupyter-mlops:track-cell';
const OPEN = 'jupyter-mlops:open-sidebar';
const REFRESH_MS = 5000;

export const mlopsIcon = new LabIcon({
  name: 'jupyter-mlops:icon',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 16 16">' +
    '<g class="jp-icon3" fill="#616161"><rect x="1" y="9" width="3" height="6"/>' +
    '<rect x="6" y="5" width="3" height="10"/><rect x="11" y="1" width="3" height="14"/></g></svg>'
});

/** Put `%%experiment` on the first line of the cell's source (once). */
export function trackSource(source: string): string {
  return source.startsWith('%%experiment') ? source : `%%experiment\n${source}`;
}

/** The status-bar item: where runs go, and how many are in progress. */
class StatusItem extends Widget {
  constructor() {
    super();
    this.addClass('jp-mlops-status');
    this.node.title = 'jupyter_mlops: tracking URL and runs in progress';
  }

  async refresh(): Promise<void> {
    try {
      const status = await get('status');
      const running = status.running === 1 ? '1 run in progress' : `${status.running} runs in progress`;
      this.node.textContent = `MLOps: ${status.url} · ${running}`;
    } catch (error) {
      this.node.textContent = `MLOps: ${(error as Error).message}`;
    }
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-mlops:plugin',
  description: 'Experiments, runs, models and deployments of jupyter_mlops in a sidebar.',
  autoStart: true,
  optional: [ILabShell, ILayoutRestorer, ICommandPalette, INotebookTracker, IStatusBar],
  activate: (
    app: JupyterFrontEnd,
    labShell: ILabShell | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    notebooks: INotebookTracker | null,
    statusBar: IStatusBar | null
  ) => {
    const sidebar = new Sidebar();
    sidebar.id = 'jupyter-mlops-sidebar';
    sidebar.title.icon = mlopsIcon;
    sidebar.title.caption = 'MLOps: experiments, runs, models, deployments';
    app.shell.add(sidebar, 'left', { rank: 600 });
    if (restorer) {
      restorer.add(sidebar, 'jupyter-mlops-sidebar');
    }

    app.commands.addCommand(TRACK, {
      label: 'Track cell as experiment',
      caption: 'Add %%experiment to the active cell: it becomes a tracked run when it runs',
      icon: mlopsIcon,
      isEnabled: () => !!notebooks?.activeCell,
      execute: () => {
        const cell = notebooks?.activeCell;
        if (!cell) {
          return;
        }
        const shared = cell.model.sharedModel;
        shared.setSource(trackSource(shared.getSource()));
      }
    });
    app.commands.addCommand(OPEN, {
      label: 'Open the MLOps sidebar',
      execute: () => app.shell.activateById(sidebar.id)
    });
    if (palette) {
      palette.addItem({ command: TRACK, category: 'MLOps' });
      palette.addItem({ command: OPEN, category: 'MLOps' });
    }

    const status = new StatusItem();
    if (statusBar) {
      statusBar.registerStatusItem('jupyter-mlops:status', { item: status, align: 'left', rank: 100 });
    }
    const refresh = () => {
      void status.refresh();
      if (sidebar.isVisible) {
        void sidebar.refresh();
      }
    };
    void status.refresh();
    window.setInterval(refresh, REFRESH_MS);

    void app.restored.then(() => {
      // `jupyter mlops ui` opens the "mlops" workspace; ?mlops-sidebar works on any lab URL
      const workspace = /\/lab\/workspaces\/mlops(\/|$)/.test(window.location.pathname);
      if (workspace || new URLSearchParams(window.location.search).has('mlops-sidebar')) {
        app.shell.activateById(sidebar.id);
      }
    });
    if (labShell) {
      labShell.currentChanged.connect(() => void status.refresh());
    }
  }
};

export default plugin;
