"""Which tests are slow and which must run alone: the one place the test tiers are decided.

`make test-fast` runs every test that trains nothing and starts no process (``-m "not slow"``);
`make test` runs everything, each file on one xdist worker and the ``serial`` tests one after
another on one worker, never two at once (``pytest -m serial`` runs them alone).
tests/conftest.py applies these lists to every collected test; no test file marks itself, and
tests/test_tiers.py checks that every entry still names a test.

A test is slow when it uses one of ``SLOW_FIXTURES`` (directly or through another fixture) or
its node id starts with one of ``SLOW_PATHS``. It is serial when its node id starts with one of
``SERIAL_PATHS`` (kill, Ctrl-C, node-loss and deadline tests measure seconds); a serial test is
slow too.
"""

from __future__ import annotations

# Fixtures that train a model, start a process, a Ray cluster or a live deployment. A bare name
# is that fixture wherever it is defined; "path::name" is the fixture of that file only (for
# names that another file uses for something cheap).
SLOW_FIXTURES = frozenset(
    {
        # tests/conftest.py: trained models and runs shared by the session
        "trained",
        "smoke_serial",
        "failure_model_run",
        # runs and trainings that one file shares between its tests
        "tests/cli/test_commands.py::run_dir",
        "tests/cli/test_byom.py::saved",
        "tests/experiments/test_evaluation.py::chain_run",
        "tests/experiments/test_kinds.py::skip_run",
        "tests/experiments/test_methods_kind.py::methods_run",
        "tests/training/test_checkpoint.py::uninterrupted",
        "tests/training/test_epoch_sweep.py::swept_each_epoch",
        "tests/training/test_distribute.py::runs",
        "tests/estimate/test_methods.py::tiny",
        "tests/test_committed_results.py::profile_dir",
        "tests/test_training_version.py::finished_run",
        "tests/models/test_learned_weights.py::learned",
        "tests/sweeps/test_exits.py::exit_models",
        "tests/results/test_damaged_folders.py::smoke_reproduced",
        # a Ray cluster
        "tests/experiments/test_cluster.py::cluster",
        "tests/search/test_search_runs.py::cluster",
        "tests/search/test_search_runs.py::resumed",  # searches killed and resumed
        "tests/search/test_classics.py::network",  # keras.applications networks, profiled
        # live deployments: node processes
        "live_run",
        "tests/live/test_cnn_deployment.py::cnn",
        "tests/live/test_health_deployment.py::live",
        "tests/live/test_link_deployment.py::linked",
        "tests/live/test_exit_deployment.py::exit_unit",
        "tests/live/test_replica_deployment.py::units",
        "tests/live/test_shaped_deployment.py::shaped",
        "tests/live/test_load_deployment.py::loaded",
        "tests/live/test_netns_deployment.py::netns",
    }
)

# Tests that train or start a process without a shared fixture (a node id, or a file/folder).
SLOW_PATHS = (
    # `resilinet run` in the test itself, or a subprocess of it
    "tests/experiments/test_runner.py::test_a_failing_unit_does_not_stop_the_run",
    "tests/experiments/test_runner.py::test_multirun_runs_one_folder_per_value",
    "tests/experiments/test_runner.py::test_ctrl_c_or_sigterm",
    "tests/experiments/test_runner.py::test_a_full_disk_stops_the_run",
    "tests/experiments/test_runner.py::test_a_fresh_process",
    "tests/experiments/test_runner.py::test_kill_9",
    "tests/experiments/test_runner_kill.py",
    "tests/data/test_own_data_runs.py",
    "tests/experiments/test_fan_in_runs.py",  # health3 and grid4 runs, evaluated
    "tests/live/test_sensor_deployment.py",  # a fan-in unit deployed, devices killed and hung
    "tests/models/test_fan_in.py::test_concat_sweep_equals_the_reference_weight_zeroing",
    "tests/models/test_fan_in.py::test_sweep_equals_slow_path_for_every_combination",
    "tests/models/test_fan_in.py::test_grid4_mobilenet_sweep_equals_the_model",
    "tests/experiments/test_pool.py",
    "tests/experiments/test_cluster.py",
    "tests/search/test_search_runs.py",  # searches on Ray Tune: trainings in worker processes
    "tests/search/test_search_input.py",  # builds and profiles each candidate's model
    "tests/search/test_search_classics.py",  # thousands of cut tuples of two networks
    "tests/search/test_cost_model.py::test_analytic_costs_equal_the_built_models",
    "tests/search/test_measure.py::test_measure_writes_a_costs_section_with_every_source",
    "tests/experiments/test_image_runs.py",
    "tests/experiments/test_cluster_token.py",  # a Ray head, or Ray's and TensorFlow's start
    "tests/experiments/test_own_data_executors.py",  # own data: a pool, a Ray cluster
    "tests/experiments/test_serial_queue.py",
    "tests/experiments/test_calibrate_exits.py",  # a tiny run with exits, calibrated
    "tests/models/test_stand_ins.py",  # builds, trains and calls models under every mask
    "tests/models/test_replica_costs.py",  # builds and profiles models with standbys
    "tests/models/test_replicas.py::test_a_full_standby",  # builds and sweeps eight models
    "tests/data/test_offline.py::test_run_offline_is_one_line_and_exit_2",
    "tests/data/test_own_images.py::test_run_",  # resilinet run on an image folder
    "tests/test_notebook.py",  # a fresh interpreter trains, as a notebook cell would
    "tests/live/test_shaping.py::test_one_megabyte_over_two_megabits",  # 4 s of real time
    "tests/live/test_soak_deployment.py",  # 3 minutes of seeded chaos (not serial: no timing)
    "tests/live/test_hosts.py::test_a_megabyte_over_two_megabits",  # 4 s through the kernel
    "tests/live/test_load_curve.py",  # a deployment under four steps of load
    "tests/test_docs.py::test_the_guide_builds_strict_offline",  # mkdocs in a process
    "tests/training/test_tensorboard_resume.py::test_a_resumed_unit_logs_every_step_once",
    "tests/results/test_mlflow_store.py",  # the trained smoke run, mlflow in processes
    "tests/experiments/test_reproduce.py::test_a_smoke_runs_report_says_so_at_the_top",
    "tests/experiments/test_reproduce.py::test_reproduce_writes_a_fresh_folder_and_compares",
    "tests/experiments/test_reuse.py::test_a_unit_with_the_same_training_is_copied_not_trained",
    "tests/experiments/test_claims_profile.py::test_a_tiny_claims_profile",
    "tests/experiments/test_planning.py::test_the_dry_run_says_what_the_run_does",
    "tests/experiments/test_planning.py::test_a_run_with_nothing_to_do_changes_no_file",
    "tests/experiments/test_planning.py::test_figures_carry_no_date_or_producer",
    "tests/experiments/test_planning.py::test_a_multirun_trains_a_shared_unit_once",
    "tests/experiments/test_kinds.py::test_failout_rate_end_to_end",
    "tests/experiments/test_kinds.py::test_hyperconnection_weight_end_to_end",
    "tests/experiments/test_kinds.py::test_partition_and_merge_end_to_end",
    "tests/experiments/test_kinds.py::test_evaluate_uses_each_ablation_units_own_topology",
    "tests/experiments/test_kinds.py::test_evaluate_a_whole_ablation_run_folder",
    "tests/experiments/test_evaluation.py::test_no_sweep_trains_and_saves_then_evaluate",
    "tests/experiments/test_evaluation.py::test_a_unit_trained_without_its_sweep",
    "tests/estimate/test_methods.py::test_the_monte_carlo_interval_covers_the_exact_value",
    "tests/training/test_distribute.py",
    "tests/training/test_optimizer.py::test_early_stopping_ends_training",
    "tests/training/test_threads.py",
    "tests/test_committed_results.py::test_evaluate_without_models_says_they_are_not_committed",
    "tests/test_api.py::test_the_readme_example_runs_as_written",
    "tests/test_api.py::test_import_is_light_and_load_config_validates",
    "tests/test_training_version.py::test_one_command_prints_the_fingerprint",
    "tests/test_training_version.py::test_a_stale_unit_is_never_a_donor",
    "tests/test_quiet_import.py",
    "tests/config/test_loading.py::test_validation_needs_no_tensorflow",
    "tests/cli/test_commands.py::test_the_installed_command_exits_2_without_a_traceback",
    # In-process, but over a second each on the 2-core machine (measured with --durations):
    # short trainings, MobileNet/ResNet/Keras-application models, figures and reports,
    # statistics checked by simulation, local HTTP servers with retries.
    "tests/cli/test_byom.py::test_partition_of_the_example_config_marks_its_cuts",
    "tests/cli/test_commands.py::test_smoke_on_a_config_outside_configs_keeps_an_explicit_set",
    "tests/cli/test_commands.py::test_train_writes_one_unit_with_the_given_seed",
    "tests/cli/test_failure_model_cli.py::test_a_configs_failure_models_are_settings_of_its",
    "tests/cli/test_overrides_cli.py::test_the_multirun_table_puts_the_swept_keys_before_each",
    "tests/config/test_messages_fuzz.py",
    "tests/data/test_data_download.py::test_http_error_is_one_line",
    "tests/data/test_data_download.py::test_server_that_fails_once_is_retried",
    "tests/data/test_data_download.py::test_truncated_download_leaves_nothing",
    "tests/data/test_data_download.py::test_wrong_checksum_over_http_leaves_nothing",
    "tests/data/test_data_fashion_mnist.py::test_debian_files_match_pinned_checksums",
    "tests/data/test_data_fashion_mnist.py::test_real_files_download_verify_and_load",
    "tests/data/test_data_fashion_mnist.py::test_real_files_load_from_system_dir",
    "tests/estimate/test_methods.py::test_best_first_is_ordered_and_covers_every_combination",
    "tests/estimate/test_methods.py::test_bounded_brackets_the_exhaustive_value",
    "tests/experiments/test_reproduce.py::test_a_profile_runs_everything_it_can_and_reports",
    "tests/layers/test_failout_model.py",
    "tests/layers/test_layers.py::test_every_weight_gets_a_gradient_in_training",
    "tests/layers/test_layers.py::test_failout_per_batch_switches_off_whole_nodes_at_the",
    "tests/layers/test_layers.py::test_layers_survive_a_safe_mode_round_trip",
    "tests/layers/test_layers.py::test_mux_is_the_broadcast_select_bit_for_bit",
    "tests/layers/test_layers.py::test_mux_output_and_gradients_follow_the_picked_input",
    "tests/models/test_builder.py::test_model_round_trips_through_a_safe_mode_keras_file",
    "tests/models/test_families.py",
    "tests/models/test_keras_family.py",
    "tests/models/test_learned_weights.py",
    "tests/models/test_mobilenet.py",
    "tests/models/test_resnet.py",
    "tests/results/test_claims.py",
    "tests/results/test_compare.py",
    "tests/results/test_model_files.py::test_evaluate_refuses_a_lambda_model",
    "tests/results/test_plots.py",
    "tests/results/test_multirun_hparams.py",
    "tests/results/test_references.py::test_report_refuses_a_reference_and_rebuilds_a_copy",
    "tests/sweeps/test_plan.py::test_a_model_without_node_markers_is_swept_with_masks",
    "tests/test_api.py::test_build_model_takes_features_and_an_alive_mask",
    "tests/test_api.py::test_train_returns_one_history_row_per_epoch",
    "tests/test_architecture.py::test_imports_go_down_the_stages",
    "tests/test_architecture.py::test_the_walk_sees_lazy_and_type_checking_imports",
    "tests/test_architecture.py::test_there_is_no_import_cycle",
    "tests/test_failure_model.py::test_samples_follow_the_model_within_four_sigma",
    "tests/test_release.py",
    "tests/test_stats.py::test_holm_and_bh_adjust_a_family_as_worked_by_hand",
    "tests/test_stats.py::test_no_difference_or_a_tiny_one_needs_more_pairs_than_we_say",
    "tests/test_stats.py::test_the_claims_profile_mobilenet_comparison_needs_35_pairs",
    "tests/test_stats.py::test_the_power_analysis_agrees_with_a_simulation",
    "tests/training/test_checkpoint.py",
    "tests/training/test_fit.py::test_an_epoch_checkpoint_mid_cycle_restores_the_accumulated",
    "tests/training/test_fit.py::test_four_accumulated_batches_make_one_adam_step_on_their_mean",
)

# Timing-sensitive tests: kill -9, Ctrl-C/SIGTERM, a node or a Ray node lost mid-run.
SERIAL_PATHS = (
    "tests/experiments/test_runner_kill.py",
    "tests/experiments/test_runner.py::test_ctrl_c_or_sigterm",
    "tests/experiments/test_runner.py::test_kill_9",
    "tests/experiments/test_pool.py::test_a_unit_process_that_dies",
    "tests/experiments/test_pool.py::test_sigterm_stops_every_unit_process",
    "tests/experiments/test_cluster.py",  # one Ray cluster at a time on the machine
    "tests/experiments/test_cluster_token.py",  # Ray heads of its own, on Ray's ports
    "tests/experiments/test_own_data_executors.py",  # a Ray cluster of its own
    "tests/search/test_search_runs.py",  # SIGTERM and kill -9 of searches, a Ray cluster
    "tests/live/test_health_deployment.py",  # a hung node must cost one 200 ms deadline
    "tests/live/test_live_eval_restart.py",
    "tests/live/test_exit_deployment.py",  # deployments of its own, timed answers
    "tests/live/test_replica_deployment.py",  # deployments of its own, hung and killed nodes
    "tests/live/test_shaped_deployment.py",  # latency bounds of shaped links
    "tests/live/test_load_deployment.py",  # 8 clients at 80 requests a second: few mixed views
    "tests/live/test_netns_deployment.py",  # the same load through namespaces: few mixed views
)


def matches(nodeid: str, paths: tuple[str, ...]) -> bool:
    """Whether ``nodeid`` is one of ``paths`` or inside one (a folder, a file, a test's prefix)."""
    return any(nodeid.startswith(path) for path in paths)


def uses_slow_fixture(fixtures: dict[str, list[str]]) -> str | None:
    """The first slow fixture among ``fixtures`` (name -> the files or folders defining it)."""
    for name, places in fixtures.items():
        if name in SLOW_FIXTURES:
            return name
        for place in places:
            if f"{place}::{name}" in SLOW_FIXTURES:
                return f"{place}::{name}"
    return None


# The niceness of a worker once it runs a test that is not serial (tests/conftest.py): the
# serial group gets the CPU first.
OTHER_TESTS_NICE = 5
