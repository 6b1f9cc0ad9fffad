"""Writes tests/spec_corpus/: one small bad input per case, with its expectations in header comments.

    python tools/make_spec_corpus.py          # rewrites the NNN_*.yaml cases and the files/ they read

Each case's header says the message regex (``# expect:``), the line the error must name (``# line:``,
computed from the line marked ``# <-``), and optionally the command, the exit status and whether the
JSON Schema rejects it too (tests/test_spec_corpus.py, tests/test_spec_schema.py). The corpus can also
be edited by hand: a new case is a YAML file with such a header.
"""
import glob
import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "spec_corpus")
IRIS = "../../configs/data/iris_train.csv"
BASE = {
 "name": "name: case",
 "data": f"data:\n  train: {{path: {IRIS}, label_column: species}}\n  y: [{{one_hot: 3}}]",
 "model": "model:\n  input_shape: [4]\n  layers:\n    - Dense: {units: 8, activation: relu}\n    - Dense: {units: 3, activation: softmax}",
 "compile": "compile:\n  optimizer: adam\n  loss: categorical_crossentropy",
 "fit": "fit: {epochs: 1, batch_size: 16}",
}
def spec(**parts):
    p = dict(BASE); p.update(parts)
    return "\n".join(v for v in p.values() if v is not None) + "\n"
def layers(*ls, shape="[4]"):
    body = "\n".join("    - " + l for l in ls)
    return f"model:\n  input_shape: {shape}\n  layers:\n{body}"
M = "  # <-"   # marks the line the error must name
CASES = []
def case(name, text, expect, schema=False, command="validate --data", exit=2, line=True):
    CASES.append((name, text, expect, schema, command, exit, line))

# --- YAML and structure
case("yaml_unclosed_flow", spec(model="model:\n  input_shape: [4]\n  layers: [{Dense: {units: 3}"+M), r"invalid YAML: this .(\[|\{). is never closed")
case("yaml_tab_indent", spec(fit="fit:\n\tepochs: 1"+M), r"invalid YAML.*")
case("yaml_duplicate_key", spec(fit="fit:\n  epochs: 1\n  epochs: 2"+M), r"duplicate key 'epochs' \(first defined at line \d+\)")
case("yaml_colon_in_value", spec(name="name: a: b"+M), r"mapping values are not allowed")
case("tag_python_apply", spec(name="name: !!python/object/apply:os.system [echo hacked]"+M), r"unsupported YAML tag 'tag:yaml.org,2002:python/object/apply:os.system'")
case("tag_python_name", spec(fit="fit: {epochs: !!python/name:os.system }"+M), r"unsupported YAML tag")
case("tag_python_module", spec(compile="compile:\n  optimizer: !!python/module:os"+M+"\n  loss: mse"), r"unsupported YAML tag")
case("tag_custom_include", spec(data="data: !include other.yaml"+M), r"unsupported YAML tag '!include'")
case("tag_python_object_mapping", spec(fit="fit: !!python/object:collections.OrderedDict {epochs: 1}"+M), r"unsupported YAML tag")
case("alias_cycle", "name: case\nx: &a [*a]"+M+"\n", r"cycle")
case("empty_spec", "\n", r"the spec is empty", line=1)
case("spec_is_a_list", "- Dense: 3"+M+"\n", r"a spec must be a mapping of sections, found a list")
case("unknown_section", spec()+"fitt: {epochs: 1}"+M+"\n", r"unknown section 'fitt' \(did you mean 'fit'\?\)", schema=True)
case("missing_model", spec(model=None), r"missing section 'model'", schema=True, line=False)
case("missing_loss", spec(compile="compile:"+M+"\n  optimizer: adam"), r"compile: missing key 'loss'", schema=True)
case("unknown_compile_key", spec(compile="compile:\n  optimiser: adam"+M+"\n  loss: mse"), r"compile: unknown key 'optimiser' \(did you mean 'optimizer'\?\)", schema=True)
case("missing_input_shape", spec(model="model:"+M+"\n  layers:\n    - Dense: {units: 3, activation: softmax}"), r"missing key 'input_shape'")
case("unknown_model_key", spec(model="model:\n  input_shape: [4]\n  layer:"+M+"\n    - Dense: {units: 3}"), r"model: unknown key 'layer' \(did you mean 'layers'\?\)", schema=True)
case("layers_not_a_list", spec(model="model:\n  input_shape: [4]\n  layers: Dense"+M), r"model.layers must be a non-empty list", schema=True)
case("layers_empty", spec(model="model:\n  input_shape: [4]\n  layers: []"+M), r"model.layers must be a non-empty list", schema=True)
case("input_shape_negative", spec(model="model:\n  input_shape: [4, -1]"+M+"\n  layers:\n    - Dense: {units: 3, activation: softmax}"), r"input_shape must be a list of positive sizes", schema=True)
case("input_shape_string", spec(model="model:\n  input_shape: four"+M+"\n  layers:\n    - Dense: {units: 3, activation: softmax}"), r"input_shape must be a list of positive sizes", schema=True)
case("layer_entry_two_keys", spec(model="model:\n  input_shape: [4]\n  layers:\n    - Dense:"+M+"\n      units: 3\n      activation: softmax"), r"a layer entry has one key, the class name; found 3")
case("layer_entry_number", layers("Dense: {units: 8}", "42"+M, "Dense: {units: 3, activation: softmax}") and spec(model=layers("Dense: {units: 8}", "42"+M, "Dense: {units: 3, activation: softmax}")), r"a layer entry is a class name or \{ClassName: arguments\}", schema=True)
# --- layers and arguments
case("unknown_layer", spec(model=layers("Dens: {units: 8}"+M, "Dense: {units: 3, activation: softmax}")), r"unknown layer 'Dens' \(did you mean 'Dense'\?\)", schema=True)
case("unknown_layer_lowercase_typo", spec(model=layers("Dense: {units: 8}", "Dropuot: 0.2"+M, "Dense: {units: 3, activation: softmax}")), r"unknown layer 'Dropuot' \(did you mean 'Dropout'\?\)", schema=True)
case("unknown_argument", spec(model=layers("Dense: {unit: 8}"+M, "Dense: {units: 3, activation: softmax}")), r"Dense: unknown argument 'unit' \(did you mean 'units'\?\)", schema=True)
case("missing_required_argument", spec(model=layers("Dense: {activation: relu}"+M, "Dense: {units: 3, activation: softmax}")), r"Dense: missing required argument 'units'", schema=True)
case("units_float", spec(model=layers("Dense: {units: 10.5}"+M, "Dense: {units: 3, activation: softmax}")), r"Dense: units must be (a positive )?integer, found 10.5", schema=True)
case("units_bool", spec(model=layers("Dense: {units: true}"+M, "Dense: {units: 3, activation: softmax}")), r"Dense: units must be a positive integer, found the boolean true|units must be an integer", schema=True)
case("units_negative", spec(model=layers("Dense: {units: -3}"+M, "Dense: {units: 3, activation: softmax}")), r"Dense: units must be a positive integer, found -3", schema=True)
case("units_zero", spec(model=layers("Dense: 0"+M, "Dense: {units: 3, activation: softmax}")), r"Dense: units must be a positive integer, found 0", schema=True)
case("units_string", spec(model=layers("Dense: {units: ten}"+M, "Dense: {units: 3, activation: softmax}")), r"Dense: units must be .*integer, found the string 'ten'", schema=True)
case("dropout_rate_too_big", spec(model=layers("Dense: {units: 8}", "Dropout: 1.5"+M, "Dense: {units: 3, activation: softmax}")), r"Dropout: rate must be a number in \[0, 1\), found 1.5", schema=True)
case("dropout_rate_one", spec(model=layers("Dense: {units: 8}", "Dropout: {rate: 1}"+M, "Dense: {units: 3, activation: softmax}")), r"Dropout: rate must be a number in \[0, 1\), found 1.0", schema=True)
case("dropout_rate_string", spec(model=layers("Dense: {units: 8}", "Dropout: half"+M, "Dense: {units: 3, activation: softmax}")), r"Dropout: rate must be a number, found the string 'half'", schema=True)
case("dropout_missing_rate", spec(model=layers("Dense: {units: 8}", "Dropout"+M, "Dense: {units: 3, activation: softmax}")), r"Dropout: missing required argument 'rate'", schema=True)
case("use_bias_int", spec(model=layers("Dense: {units: 8, use_bias: 2}"+M, "Dense: {units: 3, activation: softmax}")), r"Dense: use_bias must be true or false, found 2", schema=True)
case("flatten_positional", spec(model=layers("Flatten: 3"+M, "Dense: {units: 3, activation: softmax}")), r"Flatten: data_format must be channels_last, channels_first or null", schema=True)
case("unknown_activation", spec(model=layers("Dense: {units: 8, activation: rleu}"+M, "Dense: {units: 3, activation: softmax}")), r"unknown activation 'rleu' \(did you mean 'relu'\?\)", schema=True)
case("activation_number", spec(model=layers("Dense: {units: 8, activation: 3}"+M, "Dense: {units: 3, activation: softmax}")), r"Dense: activation must be an activation name", schema=True)
case("unknown_initializer", spec(model=layers("Dense: {units: 8, kernel_initializer: glorot_unifrom}"+M, "Dense: {units: 3, activation: softmax}")), r"unknown initializer 'glorot_unifrom' \(did you mean 'glorot_uniform'\?\)", schema=True)
case("initializer_bad_argument", spec(model=layers("Dense: {units: 8, kernel_initializer: {RandomNormal: {stdev: 0.1}}}"+M, "Dense: {units: 3, activation: softmax}")), r"RandomNormal: unknown argument 'stdev' \(did you mean 'stddev'\?\)", schema=True)
case("unknown_regularizer", spec(model=layers("Dense: {units: 8, kernel_regularizer: l3}"+M, "Dense: {units: 3, activation: softmax}")), r"unknown regularizer 'l3'", schema=True)
case("regularizer_bad_argument", spec(model=layers("Dense: {units: 8, kernel_regularizer: {L1L2: {l3: 0.01}}}"+M, "Dense: {units: 3, activation: softmax}")), r"L1L2: unknown argument 'l3'", schema=True)
case("regularizer_negative", spec(model=layers("Dense: {units: 8, kernel_regularizer: {L2: {l2: -0.01}}}"+M, "Dense: {units: 3, activation: softmax}")), r"L2: l2 must be a number >= 0, found -0.01", schema=True)
case("unknown_constraint", spec(model=layers("Dense: {units: 8, kernel_constraint: non_negative}"+M, "Dense: {units: 3, activation: softmax}")), r"unknown constraint 'non_negative' \(did you mean 'non_neg'\?\)", schema=True)
case("constraint_bad_type", spec(model=layers("Dense: {units: 8, kernel_constraint: {MaxNorm: {max_value: big}}}"+M, "Dense: {units: 3, activation: softmax}")), r"MaxNorm: max_value must be (a number|an integer), found the string 'big'", schema=True)
case("conv_padding_unknown", spec(model=layers("Conv2D: {filters: 4, kernel_size: 2, padding: full}"+M, "Flatten", "Dense: {units: 3, activation: softmax}", shape="[4, 4, 1]")), r"Conv2D: padding must be valid or same or causal, found the string 'full'", schema=True)
case("conv_kernel_size_zero", spec(model=layers("Conv2D: {filters: 4, kernel_size: 0}"+M, "Flatten", "Dense: {units: 3, activation: softmax}", shape="[4, 4, 1]")), r"Conv2D: kernel_size must be a positive integer or a list of them, found 0", schema=True)
case("conv_filters_missing", spec(model=layers("Conv2D: {kernel_size: 3}"+M, "Flatten", "Dense: {units: 3, activation: softmax}", shape="[4, 4, 1]")), r"Conv2D: missing required argument 'filters'", schema=True)
case("conv_data_format", spec(model=layers("Conv2D: {filters: 4, kernel_size: 2, data_format: channels_middle}"+M, "Flatten", "Dense: {units: 3, activation: softmax}", shape="[4, 4, 1]")), r"Conv2D: data_format must be channels_last, channels_first or null", schema=True)
case("lstm_dropout_range", spec(model=layers("LSTM: {units: 4, dropout: 2}"+M, "Dense: {units: 3, activation: softmax}", shape="[2, 2]")), r"LSTM: dropout must be a number in \[0, 1\)", schema=True)
# --- shapes before data
case("reshape_does_not_fit", spec(model=layers("Dense: {units: 8}", "Reshape: [3, 3]"+M, "Flatten", "Dense: {units: 3, activation: softmax}")), r"Reshape: cannot build on its input")
case("conv2d_on_vectors", spec(model=layers("Conv2D: {filters: 4, kernel_size: 3}"+M, "Flatten", "Dense: {units: 3, activation: softmax}")), r"Conv2D: cannot build on its input")
case("pool_bigger_than_input", spec(model=layers("Reshape: [2, 2, 1]", "MaxPooling2D: {pool_size: 3}"+M, "Flatten", "Dense: {units: 3, activation: softmax}")), r"MaxPooling2D: cannot build on its input")
case("categorical_on_one_unit", spec(model=layers("Dense: {units: 8}", "Dense: {units: 1, activation: sigmoid}"), compile="compile:\n  optimizer: adam\n  loss: categorical_crossentropy"+M), r"categorical_crossentropy on the output of 1 unit")
case("sparse_labels_vs_one_hot", spec(compile="compile:\n  optimizer: adam\n  loss: sparse_categorical_crossentropy"+M), r"sparse_categorical_crossentropy takes class ids, but data.y turns the labels into one-hot")
case("one_hot_vs_units", spec(data=f"data:\n  train: {{path: {IRIS}, label_column: species}}\n  y: [{{one_hot: 3}}]"+M, model=layers("Dense: {units: 8}", "Dense: {units: 5, activation: softmax}")), r"one_hot: 3 makes labels of 3 classes, but the output has 5 units")
# --- objects: optimizers, losses, metrics, callbacks
case("unknown_optimizer", spec(compile="compile:\n  optimizer: adamm"+M+"\n  loss: categorical_crossentropy"), r"unknown optimizer 'adamm' \(did you mean 'adam'\?\)", schema=True)
case("optimizer_unknown_argument", spec(compile="compile:\n  optimizer: {Adam: {learnin_rate: 0.1}}"+M+"\n  loss: categorical_crossentropy"), r"Adam: unknown argument 'learnin_rate' \(did you mean 'learning_rate'\?\)", schema=True)
case("learning_rate_negative", spec(compile="compile:\n  optimizer: {SGD: {learning_rate: -0.1}}"+M+"\n  loss: categorical_crossentropy"), r"SGD: learning_rate must be a number >= 0", schema=True)
case("momentum_out_of_range", spec(compile="compile:\n  optimizer: {SGD: {momentum: 1.5}}"+M+"\n  loss: categorical_crossentropy"), r"SGD: momentum must be a number in \[0, 1\], found 1.5", schema=True)
case("nesterov_not_bool", spec(compile="compile:\n  optimizer: {SGD: {nesterov: maybe}}"+M+"\n  loss: categorical_crossentropy"), r"SGD: nesterov must be true or false", schema=True)
case("clip_options_conflict", spec(compile="compile:\n  optimizer: {Adam: {clipnorm: 1.0, clipvalue: 0.5}}"+M+"\n  loss: categorical_crossentropy"), r"Adam: 'clipnorm' and 'clipvalue' cannot be used together")
case("lr_and_learning_rate", spec(compile="compile:\n  optimizer: {SGD: {learning_rate: 0.1, lr: 0.1}}"+M+"\n  loss: categorical_crossentropy"), r"SGD: both 'lr' and 'learning_rate' are given")
case("schedule_unknown", spec(compile="compile:\n  optimizer: {SGD: {learning_rate: {ExponentialDecy: {initial_learning_rate: 0.1}}}}"+M+"\n  loss: categorical_crossentropy"), r"unknown schedule 'ExponentialDecy' \(did you mean 'ExponentialDecay'\?\)", schema=True)
case("schedule_missing_argument", spec(compile="compile:\n  optimizer: {SGD: {learning_rate: {ExponentialDecay: {initial_learning_rate: 0.1}}}}"+M+"\n  loss: categorical_crossentropy"), r"ExponentialDecay: missing required arguments 'decay_steps', 'decay_rate'", schema=True)
case("unknown_loss", spec(compile="compile:\n  optimizer: adam\n  loss: categorical_crossentropi"+M), r"unknown loss 'categorical_crossentropi' \(did you mean 'categorical_crossentropy'\?\)", schema=True)
case("loss_bad_argument", spec(compile="compile:\n  optimizer: adam\n  loss: {CategoricalCrossentropy: {from_logit: true}}"+M), r"CategoricalCrossentropy: unknown argument 'from_logit' \(did you mean 'from_logits'\?\)", schema=True)
case("loss_label_smoothing_type", spec(compile="compile:\n  optimizer: adam\n  loss: {CategoricalCrossentropy: {from_logits: 1}}"+M), r"CategoricalCrossentropy: from_logits must be true or false, found 1", schema=True)
case("unknown_metric", spec(compile="compile:\n  optimizer: adam\n  loss: categorical_crossentropy\n  metrics: [acuracy]"+M), r"unknown metric 'acuracy' \(did you mean 'accuracy'\?\)", schema=True)
case("unknown_callback", spec(fit="fit:\n  epochs: 1\n  callbacks: [EarlyStoping]"+M), r"unknown callback 'EarlyStoping' \(did you mean 'EarlyStopping'\?\)", schema=True)
case("callback_bad_argument", spec(fit="fit:\n  epochs: 1\n  callbacks: [{EarlyStopping: {patiance: 3}}]"+M), r"EarlyStopping: unknown argument 'patiance' \(did you mean 'patience'\?\)", schema=True)
case("callback_patience_float", spec(fit="fit:\n  epochs: 1\n  callbacks: [{EarlyStopping: {patience: 2.5}}]"+M), r"EarlyStopping: patience must be an integer, found 2.5", schema=True)
# --- fit
case("fit_unknown_key", spec(fit="fit:\n  epoch: 3"+M), r"fit: unknown key 'epoch' \(did you mean 'epochs'\?\)", schema=True)
case("fit_epochs_float", spec(fit="fit:\n  epochs: 2.5"+M), r"fit.epochs must be an integer >= 1, found 2.5", schema=True)
case("fit_batch_size_zero", spec(fit="fit:\n  batch_size: 0"+M), r"fit.batch_size must be an integer >= 1, found 0", schema=True)
case("fit_validation_split", spec(fit="fit:\n  validation_split: 1.2"+M), r"fit.validation_split must be a fraction in \[0, 1\), found 1.2", schema=True)
case("fit_shuffle", spec(fit="fit:\n  shuffle: sometimes"+M), r"fit.shuffle must be true, false or batch", schema=True)
case("fit_verbose", spec(fit="fit:\n  verbose: 3"+M), r"fit.verbose must be auto, 0, 1 or 2, found 3", schema=True)
case("fit_class_weight_key", spec(fit="fit:\n  class_weight: {setosa: 2.0}"+M), r"fit.class_weight: expected class index: weight", schema=True)
case("fit_sample_weight", spec(fit="fit:\n  sample_weight: [1, 2]"+M), r"fit: unknown key 'sample_weight'", schema=True)
case("validation_split_and_data", spec(data=f"data:\n  train: {{path: {IRIS}, label_column: species}}\n  validation: {{path: {IRIS}, label_column: species}}\n  y: [{{one_hot: 3}}]", fit="fit:\n  validation_split: 0.2"+M), r"fit.validation_split and data.validation cannot be used together")
case("seed_negative", spec(name="name: case\nseed: -1"+M), r"seed must be a non-negative integer, found -1", schema=True)
case("name_with_slash", spec(name="name: ../evil"+M), r"name must be a word usable as a folder name", schema=True)
# --- data section
case("data_unknown_split", spec(data=f"data:\n  trian: {{path: {IRIS}, label_column: species}}"+M+"\n  y: [{one_hot: 3}]"), r"data: unknown key 'trian' \(did you mean 'train'\?\)", schema=True)
case("data_unknown_source_key", spec(data=f"data:\n  train: {{path: {IRIS}, lable_column: species}}"+M+"\n  y: [{one_hot: 3}]"), r"data.train: unknown key 'lable_column' \(did you mean 'label_column'\?\)", schema=True)
case("data_unknown_step", spec(data=f"data:\n  train: {{path: {IRIS}, label_column: species}}\n  y: [{{onehot: 3}}]"+M), r"unknown preprocessing step 'onehot' \(did you mean 'one_hot'\?\)", schema=True)
case("data_one_hot_no_count", spec(data=f"data:\n  train: {{path: {IRIS}, label_column: species}}\n  y: [one_hot]"+M), r"one_hot: expected the number of classes")
case("model_weights_missing_file", spec(model="model:\n  input_shape: [4]\n  weights: files/nope.h5"+M+"\n  layers:\n    - Dense: {units: 3, activation: softmax}"), r"file not found: files/nope.h5")
# --- repeat and anchors
case("repeat_times_zero", spec(model=layers("repeat: {times: 0, layers: [{Dense: {units: 4}}]}"+M, "Dense: {units: 3, activation: softmax}")), r"repeat: times must be an integer from 1", schema=True)
case("repeat_unknown_key", spec(model=layers("repeat: {times: 2, layer: [{Dense: {units: 4}}]}"+M, "Dense: {units: 3, activation: softmax}")), r"repeat: unknown key 'layer' \(did you mean 'layers'\?\)", schema=True)
case("repeat_block_error", spec(model="model:\n  input_shape: [4]\n  layers:\n    - repeat:\n        times: 3\n        layers:\n          - Dense: {units: 4, activaton: relu}"+M+"\n    - Dense: {units: 3, activation: softmax}"), r"Dense: unknown argument 'activaton' \(did you mean 'activation'\?\)", schema=True)
case("anchor_error_at_anchor", "_blocks:\n  hidden: &hidden {Dense: {units: -4}}"+M+"\n" + spec(model=layers("*hidden", "Dense: {units: 3, activation: softmax}")), r"Dense: units must be a positive integer, found -4")
# --- Lambda expressions and code
case("lambda_attribute", spec(model=layers("Lambda: \"x.__class__\""+M, "Dense: {units: 3, activation: softmax}")), r"Lambda: attribute access \(.__class__\) is not allowed")
case("lambda_import", spec(model=layers("Lambda: \"__import__('os').system('true')\""+M, "Dense: {units: 3, activation: softmax}")), r"Lambda: (attribute access|unknown function '__import__')")
case("lambda_reference_without_allow_code", spec(model=layers("Lambda: {function: \"os:system\"}"+M, "Dense: {units: 3, activation: softmax}")), r"Lambda: 'os:system' is a Python reference.*")
case("lambda_syntax", spec(model=layers("Lambda: \"x * (\""+M, "Dense: {units: 3, activation: softmax}")), r"Lambda: invalid expression")
case("lambda_comprehension", spec(model=layers("Lambda: \"sum([v for v in x])\""+M, "Dense: {units: 3, activation: softmax}")), r"Lambda: comprehensions are not part of the expression language")
case("lambda_unknown_name", spec(model=layers("Lambda: \"x * y\""+M, "Dense: {units: 3, activation: softmax}")), r"Lambda: unknown name 'y'")
case("lambda_unknown_function", spec(model=layers("Lambda: \"x * sigmod(x)\""+M, "Dense: {units: 3, activation: softmax}")), r"Lambda: unknown function 'sigmod' \(did you mean 'sigmoid'\?\)")
case("lambda_lambda", spec(model=layers("Lambda: \"(lambda v: v)(x)\""+M, "Dense: {units: 3, activation: softmax}")), r"Lambda: (lambdas are not part|only functions called by name)")
case("lambda_string_constant", spec(model=layers("Lambda: \"open('/etc/passwd')\""+M, "Dense: {units: 3, activation: softmax}")), r"Lambda: unknown function 'open'")
# --- graph models
case("graph_unknown_input", spec(model="model:\n  inputs: {features: [4]}\n  layers:\n    - Dense: {units: 8, input: featuers}"+M+"\n    - Dense: {units: 3, activation: softmax}"), r"unknown input 'featuers' \(did you mean 'features'\?\)")
# --- data against the spec (--data)
case("data_label_range", spec(data="data:\n  train: {path: files/labels5.npz, x: x, y: y}"+M, compile="compile:\n  optimizer: adam\n  loss: sparse_categorical_crossentropy"), r"data.train: the labels run from 0 to 4, but the output has 3 units")
case("data_input_shape", spec(data="data:\n  train: {path: files/x3d.npz, x: x, y: y}"+M+"\n  y: [{one_hot: 3}]"), r"data.train: the samples have shape \[2, 2\] after preprocessing, but the model takes \[5\]|data.train: the samples have shape \[2, 2\] after preprocessing, but the model takes \[4\]")
case("data_nan_inputs", spec(data="data:\n  train: {path: files/nan.csv, label_column: species}"+M+"\n  y: [{one_hot: 3}]"), r"data.train: 2 NaN/inf values in the inputs")
case("data_one_hot_labels_sparse_loss", spec(data="data:\n  train: {path: files/onehot_y.npz, x: x, y: y}"+M, compile="compile:\n  optimizer: adam\n  loss: sparse_categorical_crossentropy"), r"sparse_categorical_crossentropy takes class ids of shape \(n,\), but the labels have shape \[10, 3\]")
case("data_ids_categorical_loss", spec(data="data:\n  train: {path: files/xy.npz, x: x, y: y}"+M, model=layers("Dense: {units: 5, activation: softmax}")), r"categorical_crossentropy takes one-hot labels of shape \(n, 5\), but the labels are class ids")
# --- broken files (exit 1, the message names the data entry's line)
case("file_ragged_csv", spec(data="data:\n  train: {path: files/ragged.csv, label_column: species}"+M+"\n  y: [{one_hot: 3}]"), r"ragged.csv: line 3: .*", exit=1)
case("file_npz_missing_key", spec(data="data:\n  train: {path: files/only_x.npz, x: x, y: labels}"+M), r"only_x.npz: .*labels", exit=1)
case("file_text_npy", spec(data="data:\n  train: {path: files/text.npy}"+M), r"text.npy", exit=1)
case("file_missing_data", spec(data="data:\n  train: {path: files/absent.csv, label_column: species}"+M), r"absent.csv", exit=1)
case("file_weights_truncated", spec(model="model:\n  input_shape: [4]\n  weights: files/truncated.h5"+M+"\n  layers:\n    - Dense: {units: 3, activation: softmax}"), r"truncated.h5", exit=1, command="train --quiet --run-dir {tmp}/run")
case("file_weights_not_a_model", spec(model="model:\n  input_shape: [4]\n  weights: files/not_a_model.h5"+M+"\n  layers:\n    - Dense: {units: 3, activation: softmax}"), r"not_a_model.h5", exit=1, command="train --quiet --run-dir {tmp}/run")
case("file_text_column", spec(data="data:\n  train: {path: files/text_column.csv, label_column: label}"+M), r"text_column.csv", exit=1)

case("alias_bomb", "name: case\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]"+M+"\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n", r"the spec expands to more than [0-9,]+ values")
case("units_too_large_for_memory", spec(model=layers("Dense: 1000000000000"+M, "Dense: {units: 3, activation: softmax}")), r"Dense: cannot build on its input: too large for memory")

case("reshape_step_vs_input_shape", spec(data=f"data:\n  train: {{path: {IRIS}, label_column: species}}\n  x: [{{reshape: [2, 2]}}]"+M+"\n  y: [{one_hot: 3}]"), r"reshape: the samples become \[2, 2\], but the model takes \[4\]")


case("yaml_unterminated_quote", spec(name='name: "case'+M), r"this quote is never closed")
case("yaml_key_without_colon", spec(fit="fit"+M+"\n  epochs: 1"), r"a key without ':'")
case("yaml_bad_indentation", spec(model="model:\n  input_shape: [4]\n   layers:"+M+"\n    - Dense: 3"), r"invalid YAML: expected <block end>")


def write_files():
    """The broken (and a few good) data and model files the cases read."""
    import h5py

    folder = os.path.join(OUT, "files")
    os.makedirs(folder, exist_ok=True)
    path = lambda name: os.path.join(folder, name)  # noqa: E731
    rng = np.random.default_rng(0)
    with open(path("ragged.csv"), "w") as f:
        f.write("a,b,c,d,species\n1,2,3,4,setosa\n1,2,3,setosa\n5,6,7,8,virginica\n")
    rows = ["sepal_length,sepal_width,petal_length,petal_width,species"]
    for i in range(12):
        v = rng.uniform(0, 5, 4).round(2).tolist()
        v[1] = "nan" if i == 3 else v[1]
        v[0] = "inf" if i == 7 else v[0]
        rows.append(",".join(map(str, v)) + "," + ["setosa", "versicolor", "virginica"][i % 3])
    with open(path("nan.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")
    with open(path("text_column.csv"), "w") as f:
        f.write("a,b,c,d,label\n1,2,x,4,0\n1,2,3,4,1\n")
    x = rng.normal(size=(10, 4)).astype(np.float32)
    y = np.array([0, 1, 2, 3, 4, 0, 1, 2, 3, 4])
    np.savez(path("xy.npz"), x=x, y=y)
    np.savez(path("only_x.npz"), x=x)
    np.savez(path("labels5.npz"), x=x, y=y)
    np.savez(path("x3d.npz"), x=rng.normal(size=(10, 2, 2)).astype(np.float32), y=y % 3)
    np.savez(path("onehot_y.npz"), x=x, y=np.eye(3, dtype=np.float32)[y % 3])
    with h5py.File(path("not_a_model.h5"), "w") as f:
        f["data"] = np.arange(5)
    full = path("full.tmp.h5")
    with h5py.File(full, "w") as f:
        f.attrs["model_config"] = "{}"
        f["model_weights/dense/kernel"] = np.zeros((4, 3), np.float32)
    with open(full, "rb") as f:
        data = f.read()
    os.remove(full)
    with open(path("truncated.h5"), "wb") as f:
        f.write(data[:600])
    with open(path("garbage.h5"), "wb") as f:
        f.write(b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 4)
    with open(path("empty.h5"), "wb") as f:
        f.write(b"")
    with open(path("text.npy"), "w") as f:
        f.write("this is not numpy\n")


def write():
    for old in glob.glob(os.path.join(OUT, "[0-9][0-9][0-9]_*.yaml")):
        os.remove(old)
    names = set()
    for n, (name, text, expect, schema, command, exit, line) in enumerate(CASES, 1):
        assert name not in names, name
        names.add(name)
        header = [f"# expect: {expect}"]
        body = text.splitlines()
        if line is True:
            marked = [i for i, l in enumerate(body) if l.endswith(M)]
            assert len(marked) == 1, (name, marked)
        if command != "validate --data":
            header.append(f"# command: {command}")
        if exit != 2:
            header.append(f"# exit: {exit}")
        if schema:
            header.append("# schema: reject")
        if line is True:
            header.append(f"# line: {marked[0] + 1 + len(header) + 2}")
        elif line:
            header.append(f"# line: {line}")
        header.append("# (the line marked <- is the one the error must name)" if line else "# (no line: the error is about the whole spec)")
        out = "\n".join(header + body) + "\n"
        with open(os.path.join(OUT, f"{n:03d}_{name}.yaml"), "w") as f:
            f.write(out)
    print(len(CASES))

if __name__ == "__main__":
    write_files()
    write()
