-- Labelhub demo schema.
--
-- Portable between MariaDB 10.11 and MySQL 8.4: no engine- or vendor-specific
-- syntax. Every time is a DATETIME in UTC (the loader sets time_zone = '+00:00').
-- Statements end with ";" at the end of a line; the loader splits on that.
--
-- The tables are created with their primary and unique keys only; the ALTER TABLE
-- statements at the end add the secondary indexes and foreign keys. The loader runs
-- them after the bulk load (building an index once is much faster than maintaining
-- it row by row); run top to bottom, the file gives the same schema.

DROP TABLE IF EXISTS annotations;
DROP TABLE IF EXISTS tasks;
DROP TABLE IF EXISTS projects;
DROP TABLE IF EXISTS users;
DROP TABLE IF EXISTS releases;
DROP TABLE IF EXISTS incidents;
DROP TABLE IF EXISTS canary;

CREATE TABLE users (
  id             INT UNSIGNED NOT NULL,
  email          VARCHAR(191) NOT NULL,
  name           VARCHAR(100) NOT NULL,
  role           ENUM('labeller','reviewer','manager','admin') NOT NULL,
  country        CHAR(2) NOT NULL,
  signup_channel VARCHAR(20) NOT NULL,
  created_at     DATETIME NOT NULL,
  last_active_at DATETIME NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_users_email (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE projects (
  id         INT UNSIGNED NOT NULL,
  slug       VARCHAR(100) NOT NULL,
  name       VARCHAR(200) NOT NULL,
  customer   VARCHAR(100) NOT NULL,
  modality   ENUM('image','text','audio','video') NOT NULL,
  status     ENUM('active','paused','completed') NOT NULL,
  created_at DATETIME NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_projects_slug (slug)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE tasks (
  id           INT UNSIGNED NOT NULL,
  project_id   INT UNSIGNED NOT NULL,
  status       ENUM('queued','in_progress','submitted','accepted','rejected') NOT NULL,
  priority     TINYINT UNSIGNED NOT NULL,
  created_at   DATETIME NOT NULL,
  assigned_to  INT UNSIGNED NULL,
  assigned_at  DATETIME NULL,
  submitted_at DATETIME NULL,
  reviewed_at  DATETIME NULL,
  reviewed_by  INT UNSIGNED NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE annotations (
  id          INT UNSIGNED NOT NULL,
  task_id     INT UNSIGNED NOT NULL,
  labeller_id INT UNSIGNED NOT NULL,
  label_count INT UNSIGNED NOT NULL,
  duration_s  INT UNSIGNED NOT NULL,
  created_at  DATETIME NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE releases (
  id          INT UNSIGNED NOT NULL,
  version     VARCHAR(32) NOT NULL,
  released_at DATETIME NOT NULL,
  title       VARCHAR(200) NOT NULL,
  notes       TEXT NOT NULL,
  tags        VARCHAR(200) NOT NULL,
  PRIMARY KEY (id),
  KEY ix_releases_released (released_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE incidents (
  id          INT UNSIGNED NOT NULL,
  title       VARCHAR(200) NOT NULL,
  severity    ENUM('sev1','sev2','sev3') NOT NULL,
  started_at  DATETIME NOT NULL,
  resolved_at DATETIME NULL,
  description TEXT NOT NULL,
  tags        VARCHAR(200) NOT NULL,
  PRIMARY KEY (id),
  KEY ix_incidents_started (started_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Holds exactly one known row; tests of the query paths check it survives them.
CREATE TABLE canary (
  id    INT UNSIGNED NOT NULL,
  value VARCHAR(64) NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Secondary indexes for the dashboards' time-range queries, and foreign keys.
ALTER TABLE users
  ADD KEY ix_users_created (created_at),
  ADD KEY ix_users_last_active (last_active_at);

ALTER TABLE tasks
  ADD KEY ix_tasks_created (created_at),
  ADD KEY ix_tasks_project_created (project_id, created_at),
  ADD KEY ix_tasks_status (status),
  ADD KEY ix_tasks_assigned (assigned_at),
  ADD KEY ix_tasks_submitted (submitted_at),
  ADD KEY ix_tasks_reviewed (reviewed_at),
  ADD KEY ix_tasks_assigned_to (assigned_to, assigned_at),
  ADD KEY ix_tasks_reviewed_by (reviewed_by, reviewed_at),
  ADD CONSTRAINT fk_tasks_project FOREIGN KEY (project_id) REFERENCES projects (id),
  ADD CONSTRAINT fk_tasks_assigned_to FOREIGN KEY (assigned_to) REFERENCES users (id),
  ADD CONSTRAINT fk_tasks_reviewed_by FOREIGN KEY (reviewed_by) REFERENCES users (id);

ALTER TABLE annotations
  ADD KEY ix_annotations_created (created_at),
  ADD KEY ix_annotations_labeller_created (labeller_id, created_at),
  ADD KEY ix_annotations_task (task_id),
  ADD CONSTRAINT fk_annotations_task FOREIGN KEY (task_id) REFERENCES tasks (id),
  ADD CONSTRAINT fk_annotations_labeller FOREIGN KEY (labeller_id) REFERENCES users (id);
