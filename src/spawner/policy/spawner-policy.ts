/**
 * What the operator decides for every container, whatever the launch says. Launch values only choose within
 * these bounds; every plan starts again from these defaults.
 */
export interface SpawnerPolicy {
  /** The image when the launch names none; always allowed. */
  image: string;
  /** Further images a launch may name, as exact references. */
  imageAllowList: readonly string[];
  /**
   * mod_lticontainer's image name filter: tokens separated by commas or spaces; an image is allowed when it
   * contains every plain token and none of the `-`-prefixed ones, as plain substrings (no patterns). A `*`
   * token matches every image (as an exclusion: excludes every image). An empty filter allows every image;
   * `null` turns the filter off (only `image` and `imageAllowList`).
   */
  imageFilter: string | null;
  /** CPUs when the launch names none, and the most a launch may ask for. */
  cpuLimit: number;
  cpuLimitMax: number;
  /** Memory in bytes when the launch names none, and the most a launch may ask for. */
  memLimit: number;
  memLimitMax: number;
  /** Seconds a container may stay active (its image's health check stops it) and the most a launch may ask. */
  actLimit: number;
  actLimitMax: number;
  /** Whether a launch may ask for 0 = no limit (mod_lticontainer's menus offer it for CPU, memory, activity). */
  allowUnlimited: boolean;
  /** The notebook server's start page when the launch names none. */
  defaultUrl: string;
  /** A user without a host account gets uid `baseUid + Moodle user id`; also the gid of last resort. */
  baseUid: number;
  /** The group of users without a host account (its gid when it exists on the host, else `baseUid`). */
  defaultGroup: string;
  /** The group the image's start script puts teachers in. */
  teacherGid: number;
  teacherGroup: string;
  /** The user's home on the host and in the container; `{groupname}` and `{username}` are replaced. */
  homeTemplate: string;
  /** Host folder of the notice files bound read-only into the container when they exist. */
  noticeDir: string;
  /** How often the notebook's notice extension reads the notice file. */
  noticePollSeconds: number;
  /** Folder under `<home>/jupyter/works` where task and submit volumes are mounted. */
  volumesDir: string;
  /** The notebook server's port in the container, published on 127.0.0.1 with an engine-chosen host port. */
  notebookPort: number;
  /** Docker network mode (`bridge`, a network name, or Podman's `slirp4netns[:options]`). */
  networkMode: string;
  /**
   * The host name or address under which containers reach JupyterHub, when it differs from the one in
   * JupyterHub's own URLs: it replaces the host of `JUPYTERHUB_API_URL` and `JUPYTERHUB_ACTIVITY_URL` (port
   * and path kept). E.g. `10.0.2.2` with `slirp4netns:allow_host_loopback=true`, where it is the host's
   * 127.0.0.1; the bridge's gateway (`172.17.0.1`) for Docker's `bridge`. `null`: JupyterHub's URLs as they
   * are (set `c.JupyterHub.hub_connect_url` there instead).
   */
  hubHostAlias: string | null;
  /**
   * Start the container as root. The LTIContainer images' start script needs it (it creates the user, links
   * the volumes, then drops to the user); off, the container runs as `<uid>:<gid>`.
   */
  runAsRoot: boolean;
  /** Run the container privileged. */
  privileged: boolean;
  /** The container's command; the plan appends the notebook server's arguments. */
  command: readonly string[];
  /**
   * Environment of every container, before the launch's own variables. `{home}` in a value is replaced by the
   * user's home.
   */
  environment: Readonly<Record<string, string>>;
}

/** The LTIContainerSpawner deployment's settings. */
export const DEFAULT_SPAWNER_POLICY: SpawnerPolicy = Object.freeze({
  image: "ghcr.io/jupyter-fumihax/jupyterhub-ltictr.singleuser",
  imageAllowList: Object.freeze([]),
  imageFilter: "jupyterhub",
  cpuLimit: 1,
  cpuLimitMax: 10,
  memLimit: 1024 ** 3,
  memLimitMax: 16 * 1024 ** 3,
  actLimit: 6000,
  actLimitMax: 28 * 24 * 3600,
  allowUnlimited: true,
  defaultUrl: "/lab",
  baseUid: 30000,
  defaultGroup: "others",
  teacherGid: 7000,
  teacherGroup: "TEACHER",
  homeTemplate: "/home/{groupname}/{username}",
  noticeDir: "/usr/local/etc/ltictr",
  noticePollSeconds: 60,
  volumesDir: ".volumes",
  notebookPort: 8888,
  networkMode: "bridge",
  hubHostAlias: null,
  runAsRoot: false,
  privileged: false,
  command: Object.freeze(["start-notebook.sh"]),
  // PRJCT_DIR, WORK_DIR and VOLUME_DIR are rewritten by the plan from its folders; listed for their place.
  environment: Object.freeze({
    GRANT_SUDO: "no",
    PRJCT_DIR: "jupyter",
    WORK_DIR: "works",
    VOLUME_DIR: ".volumes",
    NB_UMASK: "0037",
    CONDA_DIR: "/opt/conda",
    CHOWN_HOME: "yes",
    CHOWN_HOME_OPTS: "-R",
    USER_HOME: "{home}",
    JUPYTER_CONFIG_DIR: "{home}/.jupyter",
    JUPYTER_DATA_DIR: "{home}/.local/share/jupyter",
    JUPYTER_RUNTIME_DIR: "{home}/.local/share/jupyter/runtime",
    XDG_CACHE_HOME: "{home}/.cache",
    XDG_RUNTIME_DIR: "{home}/.local/share/jupyter/runtime",
    TZ: "JST-9",
  }),
});
