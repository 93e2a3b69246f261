//! Moving `Slice` operators towards the graph's inputs.
//!
//! A model that computes a whole tensor and then reads only part of it (the
//! classification token of a transformer or MLP-Mixer, the last position of a
//! sequence) wastes the work of every operator between the point where the
//! positions stop interacting and the `Slice`. [`push_slices_up`] moves each
//! `Slice` with constant parameters above the operator that produced its
//! input, as long as that operator computes each output position from the
//! same position of its inputs along the sliced axes, so that the operator
//! then computes only the positions that are read. Where the slice reaches a
//! convolution's output channels, it is applied to the (constant) weights and
//! bias instead, and stops.
//!
//! Each step computes the same values: the operators run on the same inputs
//! at the positions that are kept. The results can still differ by rounding
//! where a kernel picks another summation order for the smaller shape (for
//! example a GEMM that becomes a vector-matrix product).

use std::sync::Arc;

use rten_tensor::Tensor;
use rten_tensor::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use smallvec::SmallVec;

use super::GraphMutator;
use super::diagnostics::Diagnostics;
use crate::graph::{Constant, Dimension, Graph, Node, NodeId, OperatorNode};
use crate::ops::{
    Conv, LayerNormalization, Padding, ReduceL1, ReduceL2, ReduceMax, ReduceMean, ReduceMin,
    ReduceProd, ReduceSum, ReduceSumSquare, Reshape, Slice, Transpose, resolve_index,
};
use crate::value::ValueType;

/// Operators whose output element at an index is computed from the elements
/// of their inputs at the same index, after (multidirectional) broadcasting.
#[rustfmt::skip]
const ELEMENTWISE_OPS: &[&str] = &[
    // Unary (`Clip`'s bounds are scalars)
    "Abs", "Cast", "Ceil", "Clip", "Cos", "Elu", "Erf", "Exp", "Floor", "Gelu", "HardSigmoid",
    "HardSwish", "Identity", "LeakyRelu", "Log", "Neg", "Not", "Reciprocal", "Relu", "Round",
    "Sigmoid", "Sign", "Silu", "Sin", "Softplus", "Sqrt", "Swish", "Tan", "Tanh",
    // Binary and ternary
    "Add", "And", "Div", "Equal", "Greater", "GreaterOrEqual", "Less", "LessOrEqual", "Max",
    "Min", "Mod", "Mul", "Or", "Pow", "PRelu", "Sub", "Where", "Xor",
];

/// The range `start..end` (step 1, not empty) of one axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct AxisRange {
    axis: usize,
    start: usize,
    end: usize,
}

/// A slice of a tensor: at most one range per axis, sorted by axis. Axes
/// without a range are kept whole.
type SliceSpec = SmallVec<[AxisRange; 2]>;

/// What becomes of one input of an operator when its output is sliced.
enum InputChange {
    /// The input is used as it is.
    Keep,
    /// The input is sliced by a new `Slice` operator.
    Slice(SliceSpec),
    /// The input is replaced by a new constant (a sliced weight, or a new
    /// target shape).
    Constant(Constant),
}

/// Return the shape of a value or constant, if all its dimensions are known.
fn fixed_shape(graph: &Graph, id: NodeId) -> Option<Vec<usize>> {
    graph
        .get_node(id)?
        .shape()?
        .iter()
        .map(|dim| match dim {
            Dimension::Fixed(size) => Some(*size),
            Dimension::Symbolic(_) => None,
        })
        .collect()
}

/// Return the values of a constant integer vector.
fn const_ints(graph: &Graph, id: NodeId) -> Option<Vec<i32>> {
    match graph.get_node(id)? {
        Node::Constant(Constant::Int32(c)) if c.view().ndim() <= 1 => {
            Some(c.view().iter().copied().collect())
        }
        _ => None,
    }
}

/// Read a `Slice` operator whose starts, ends, axes and steps are constant and
/// whose input's shape is known, as the slice it takes of its input.
///
/// Returns `None` if it has other parameters, a step other than 1, or makes an
/// empty tensor; the spec is empty if the slice keeps the whole input.
fn read_slice(graph: &Graph, op_node: &OperatorNode) -> Option<(NodeId, SliceSpec)> {
    op_node.operator().downcast_ref::<Slice>()?;
    let (input, starts, ends, axes, steps) = match op_node.input_ids() {
        [Some(input), Some(starts), Some(ends), rest @ ..] => {
            let axes = rest.first().copied().flatten();
            let steps = rest.get(1).copied().flatten();
            (*input, *starts, *ends, axes, steps)
        }
        _ => return None,
    };
    let shape = fixed_shape(graph, input)?;
    let starts = const_ints(graph, starts)?;
    let ends = const_ints(graph, ends)?;
    if starts.len() != ends.len() {
        return None;
    }
    let axes = match axes {
        Some(axes) => const_ints(graph, axes)?,
        None => (0..starts.len() as i32).collect(),
    };
    if axes.len() != starts.len() {
        return None;
    }
    if let Some(steps) = steps
        && const_ints(graph, steps)?.iter().any(|&step| step != 1)
    {
        return None;
    }

    let mut spec = SliceSpec::new();
    for ((&axis, &start), &end) in axes.iter().zip(&starts).zip(&ends) {
        let axis = resolve_index(shape.len(), axis as isize)?;
        if spec.iter().any(|r| r.axis == axis) {
            return None;
        }
        let size = shape[axis] as i64;
        let clamp = |index: i32| {
            let index = index as i64;
            let index = if index < 0 { index + size } else { index };
            index.clamp(0, size) as usize
        };
        let (start, end) = (clamp(start), clamp(end));
        if start >= end {
            return None;
        }
        if end - start < shape[axis] {
            spec.push(AxisRange { axis, start, end });
        }
    }
    spec.sort_by_key(|r| r.axis);
    Some((input, spec))
}

/// The shape of a tensor of `shape` sliced by `spec`.
fn sliced_shape(shape: &[usize], spec: &SliceSpec) -> Vec<usize> {
    let mut shape = shape.to_vec();
    for r in spec {
        shape[r.axis] = r.end - r.start;
    }
    shape
}

/// Map a slice of an operator's output to a slice of one input whose shape
/// broadcasts to the output's (numpy rules: aligned at the last axis, an
/// axis of size 1 repeated).
fn broadcast_input_slice(
    input_shape: &[usize],
    output_shape: &[usize],
    spec: &SliceSpec,
) -> Option<SliceSpec> {
    let offset = output_shape.len().checked_sub(input_shape.len())?;
    let mut input_spec = SliceSpec::new();
    for r in spec {
        let Some(axis) = r.axis.checked_sub(offset) else {
            continue;
        };
        match input_shape[axis] {
            1 => {}
            size if size == output_shape[r.axis] => input_spec.push(AxisRange { axis, ..*r }),
            _ => return None,
        }
    }
    Some(input_spec)
}

/// Return the axes reduced by a reduction operator and whether it keeps them.
fn reduction_axes(graph: &Graph, op_node: &OperatorNode) -> Option<(Vec<i32>, bool)> {
    macro_rules! reduction {
        ($($op:ty),*) => {
            $(if let Some(op) = op_node.operator().downcast_ref::<$op>() {
                let axes = match (&op.axes, op_node.input_ids().get(1).copied().flatten()) {
                    (Some(axes), _) => axes.clone(),
                    (None, Some(axes)) => const_ints(graph, axes)?,
                    // All axes are reduced, or none with `noop_with_empty_axes`.
                    (None, None) => return None,
                };
                if axes.is_empty() {
                    return None;
                }
                return Some((axes, op.keep_dims));
            })*
        };
    }
    reduction!(
        ReduceMean,
        ReduceSum,
        ReduceMax,
        ReduceMin,
        ReduceProd,
        ReduceL1,
        ReduceL2,
        ReduceSumSquare
    );
    None
}

/// Slice a constant along its first axis, as the output channels of a
/// convolution's weights or bias.
fn slice_constant_first_axis(graph: &Graph, id: NodeId, range: &AxisRange) -> Option<Constant> {
    match graph.get_node(id)? {
        Node::Constant(Constant::Float(c)) => {
            let view = c.view();
            if view.ndim() == 0 || view.size(0) < range.end {
                return None;
            }
            let sliced = view.slice_axis(0, range.start..range.end).to_tensor();
            Some(Constant::new(None, sliced.into_arc()))
        }
        _ => None,
    }
}

/// Decide how each input of `op_node` (output shape `output_shape`) changes
/// when its output is sliced by `spec`, if the operator can compute just that
/// part of its output.
fn input_changes(
    graph: &Graph,
    op_node: &OperatorNode,
    output_shape: &[usize],
    spec: &SliceSpec,
) -> Option<Vec<InputChange>> {
    let op = op_node.operator();
    let inputs = op_node.input_ids();
    let input_shape = |index: usize| fixed_shape(graph, inputs.get(index).copied().flatten()?);

    if ELEMENTWISE_OPS.contains(&op.name()) {
        return inputs
            .iter()
            .map(|input| {
                let Some(input) = input else {
                    return Some(InputChange::Keep);
                };
                let shape = fixed_shape(graph, *input)?;
                let input_spec = broadcast_input_slice(&shape, output_shape, spec)?;
                Some(if input_spec.is_empty() {
                    InputChange::Keep
                } else {
                    InputChange::Slice(input_spec)
                })
            })
            .collect();
    }

    if let Some(transpose) = op.downcast_ref::<Transpose>() {
        let ndim = output_shape.len();
        let mut input_spec: SliceSpec = spec
            .iter()
            .map(|r| AxisRange {
                axis: match &transpose.perm {
                    Some(perm) => perm[r.axis],
                    None => ndim - 1 - r.axis,
                },
                ..*r
            })
            .collect();
        input_spec.sort_by_key(|r| r.axis);
        return Some(vec![InputChange::Slice(input_spec)]);
    }

    if op.downcast_ref::<Reshape>().is_some() {
        // A sliced output axis maps to an input axis of the same size with as
        // many elements before it: then each block of the flattened tensor that
        // the slice keeps is the same in both.
        let in_shape = input_shape(0)?;
        if output_shape.contains(&0) {
            return None;
        }
        let mut input_spec = SliceSpec::new();
        for r in spec {
            let outer: usize = output_shape[..r.axis].iter().product();
            let axis = (0..in_shape.len()).find(|&axis| {
                in_shape[axis] == output_shape[r.axis]
                    && in_shape[..axis].iter().product::<usize>() == outer
            })?;
            input_spec.push(AxisRange { axis, ..*r });
        }
        input_spec.sort_by_key(|r| r.axis);
        let new_shape: Vec<i32> = sliced_shape(output_shape, spec)
            .into_iter()
            .map(|size| i32::try_from(size).ok())
            .collect::<Option<_>>()?;
        let new_shape = Constant::new(None, Tensor::from(new_shape).into_arc());
        return Some(vec![
            InputChange::Slice(input_spec),
            InputChange::Constant(new_shape),
        ]);
    }

    if let Some((axes, keep_dims)) = reduction_axes(graph, op_node) {
        let in_ndim = input_shape(0)?.len();
        let axes: Vec<usize> = axes
            .iter()
            .map(|&axis| resolve_index(in_ndim, axis as isize))
            .collect::<Option<_>>()?;
        // Input axes that remain in the output, in order.
        let kept: Vec<usize> = (0..in_ndim)
            .filter(|axis| keep_dims || !axes.contains(axis))
            .collect();
        let mut input_spec = SliceSpec::new();
        for r in spec {
            let axis = *kept.get(r.axis)?;
            if axes.contains(&axis) {
                return None;
            }
            input_spec.push(AxisRange { axis, ..*r });
        }
        let mut changes = vec![InputChange::Slice(input_spec)];
        changes.extend((1..inputs.len()).map(|_| InputChange::Keep));
        return Some(changes);
    }

    if let Some(layer_norm) = op.downcast_ref::<LayerNormalization>() {
        // Scale and bias apply to the normalized axes, which the slice must not
        // touch.
        let axis = resolve_index(output_shape.len(), layer_norm.axis)?;
        if spec.iter().any(|r| r.axis >= axis) {
            return None;
        }
        let mut changes = vec![InputChange::Slice(spec.clone())];
        changes.extend((1..inputs.len()).map(|_| InputChange::Keep));
        return Some(changes);
    }

    if let Some(conv) = op.downcast_ref::<Conv>() {
        return conv_input_changes(graph, conv, inputs, output_shape, spec);
    }

    None
}

/// [`input_changes`] for a convolution (NCHW): the batch axis maps to the
/// input's, a spatial axis to the input's where the kernel is 1 wide with
/// stride 1 and no padding, and the output channels to the weights' and
/// bias's first axis (if they are constant and `groups` is 1).
fn conv_input_changes(
    graph: &Graph,
    conv: &Conv,
    inputs: &[Option<NodeId>],
    output_shape: &[usize],
    spec: &SliceSpec,
) -> Option<Vec<InputChange>> {
    let (input, weights, bias) = match inputs {
        [Some(input), Some(weights)] => (*input, *weights, None),
        [Some(input), Some(weights), bias] => (*input, *weights, *bias),
        _ => return None,
    };
    let in_shape = fixed_shape(graph, input)?;
    let w_shape = fixed_shape(graph, weights)?;
    let spatial_dims = output_shape.len().checked_sub(2)?;
    if in_shape.len() != output_shape.len() || w_shape.len() != output_shape.len() {
        return None;
    }

    let mut input_spec = SliceSpec::new();
    let mut weights_change = InputChange::Keep;
    let mut bias_change = InputChange::Keep;
    for r in spec {
        match r.axis {
            0 => input_spec.push(*r),
            1 => {
                if conv.groups != 1 {
                    return None;
                }
                weights_change =
                    InputChange::Constant(slice_constant_first_axis(graph, weights, r)?);
                if let Some(bias) = bias {
                    bias_change = InputChange::Constant(slice_constant_first_axis(graph, bias, r)?);
                }
            }
            axis => {
                let dim = axis - 2;
                let stride = conv.strides.get(dim).copied().unwrap_or(1);
                let unpadded = match &conv.padding {
                    // With a kernel of size 1 and stride 1, "same" padding is none.
                    Padding::Same => true,
                    Padding::Fixed(pads) => {
                        pads.get(dim).copied().unwrap_or(0) == 0
                            && pads.get(dim + spatial_dims).copied().unwrap_or(0) == 0
                    }
                };
                if w_shape[axis] != 1
                    || stride != 1
                    || !unpadded
                    || in_shape[axis] != output_shape[axis]
                {
                    return None;
                }
                input_spec.push(*r);
            }
        }
    }

    let input_change = if input_spec.is_empty() {
        InputChange::Keep
    } else {
        InputChange::Slice(input_spec)
    };
    let mut changes = vec![input_change, weights_change];
    if bias.is_some() {
        changes.push(bias_change);
    }
    Some(changes)
}

/// A `Slice` that can move above the operator producing its input.
struct SlicePush {
    /// The operator producing the sliced value.
    source_op: NodeId,
    /// The sliced value.
    sliced_value: NodeId,
    /// The `Slice` operators reading `sliced_value` (all alike) and their
    /// outputs. The first output is kept; the others are replaced by it.
    slices: Vec<(NodeId, NodeId)>,
    changes: Vec<InputChange>,
}

/// Check whether the `Slice` operator `slice_op` can move above the operator
/// producing its input: that operator has one output, which only `Slice`s
/// taking the same part read, and can compute just that part.
fn plan_push(
    graph: &Graph,
    output_ids: &[NodeId],
    captured: &FxHashSet<NodeId>,
    slice_op: NodeId,
) -> Option<SlicePush> {
    let slice_node = graph.get_node(slice_op)?.as_operator()?;
    let (sliced_value, spec) = read_slice(graph, slice_node)?;
    if spec.is_empty() || output_ids.contains(&sliced_value) || captured.contains(&sliced_value) {
        return None;
    }
    let (source_op, source_node) = graph.get_source_node(sliced_value)?;
    if source_node.output_ids() != [Some(sliced_value)] {
        return None;
    }

    let mut consumers: Vec<NodeId> = graph.get_consumers(sliced_value)?.to_vec();
    consumers.sort();
    consumers.dedup();
    let mut slices = Vec::with_capacity(consumers.len());
    for &consumer in &consumers {
        let node = graph.get_node(consumer)?.as_operator()?;
        match (read_slice(graph, node), node.output_ids()) {
            (Some((input, other_spec)), &[Some(output)])
                if input == sliced_value && other_spec == spec =>
            {
                slices.push((consumer, output));
            }
            _ => return None,
        }
    }
    // Keep the output of the slice that was visited, so that the pass makes
    // progress from it; merging slices that are graph outputs would change the
    // graph's outputs.
    let first = slices.iter().position(|&(op, _)| op == slice_op)?;
    slices.swap(0, first);
    if slices[1..]
        .iter()
        .any(|(_, output)| output_ids.contains(output) || captured.contains(output))
    {
        return None;
    }

    // Two slices in a row become one.
    if let Some((input, source_spec)) = read_slice(graph, source_node) {
        let mut combined = source_spec;
        for r in &spec {
            match combined.iter_mut().find(|s| s.axis == r.axis) {
                Some(s) => {
                    s.end = s.start + r.end;
                    s.start += r.start;
                }
                None => combined.push(*r),
            }
        }
        combined.sort_by_key(|r| r.axis);
        // The source slice's parameters are replaced, its input kept.
        let mut changes = vec![InputChange::Slice(combined)];
        changes.extend((1..source_node.input_ids().len()).map(|_| InputChange::Keep));
        debug_assert_eq!(source_node.input_ids()[0], Some(input));
        return Some(SlicePush {
            source_op,
            sliced_value,
            slices,
            changes,
        });
    }

    let output_shape = fixed_shape(graph, sliced_value)?;
    let changes = input_changes(graph, source_node, &output_shape, &spec)?;
    if changes.len() != source_node.input_ids().len() {
        return None;
    }
    Some(SlicePush {
        source_op,
        sliced_value,
        slices,
        changes,
    })
}

/// Add the `Slice` operator `Slice(input, spec)` writing to `output`.
fn add_slice_op(
    graph: &mut GraphMutator,
    name: Option<&str>,
    input: NodeId,
    spec: &SliceSpec,
    output: NodeId,
) {
    let mut param = |value: fn(&AxisRange) -> usize| {
        let values: Vec<i32> = spec.iter().map(|r| value(r) as i32).collect();
        graph.add_constant(None, Tensor::from(values).into_arc())
    };
    let starts = param(|r| r.start);
    let ends = param(|r| r.end);
    let axes = param(|r| r.axis);
    graph.add_operator(
        name,
        Arc::new(Slice {}),
        &[Some(input), Some(starts), Some(ends), Some(axes)],
        &[Some(output)],
    );
}

/// Add `Slice(input, spec)` to the graph and return its output, a new value.
fn add_slice(graph: &mut GraphMutator, input: NodeId, spec: &SliceSpec) -> NodeId {
    let shape = fixed_shape(graph.graph(), input).map(|shape| {
        sliced_shape(&shape, spec)
            .into_iter()
            .map(Dimension::Fixed)
            .collect()
    });
    let dtype: Option<ValueType> = graph.graph().get_node(input).and_then(|n| n.dtype());
    let output = graph.graph.add_value(None, shape, dtype);
    add_slice_op(graph, None, input, spec, output);
    output
}

/// Apply a [`SlicePush`]: the source operator is replaced by one computing
/// the first slice's output from sliced inputs, and the slices are removed.
fn apply_push(graph: &mut GraphMutator, push: SlicePush) {
    let source = graph
        .graph()
        .get_node(push.source_op)
        .and_then(|n| n.as_operator())
        .expect("source operator");
    let name = source.name().map(|s| s.to_string());
    let operator = source.clone_operator();
    let is_slice = source.operator().downcast_ref::<Slice>().is_some();
    let old_inputs: Vec<Option<NodeId>> = source.input_ids().to_vec();

    let (_, kept_output) = push.slices[0];
    let mut removed: Vec<NodeId> = vec![push.source_op, push.sliced_value];
    for &(op, output) in &push.slices {
        removed.push(op);
        if output != kept_output {
            removed.push(output);
        }
    }
    for &(_, output) in &push.slices[1..] {
        graph.replace_value(output, kept_output);
    }
    graph.graph.remove_nodes(&removed);

    if is_slice {
        // Two slices in a row: one slice of the first one's input.
        let Some(InputChange::Slice(spec)) = push.changes.first() else {
            unreachable!("slices are combined into one");
        };
        let input = old_inputs[0].expect("slice input");
        add_slice_op(graph, name.as_deref(), input, spec, kept_output);
        return;
    }

    // Slice each input once, even if the operator reads it more than once.
    let mut sliced_inputs: FxHashMap<(NodeId, SliceSpec), NodeId> = FxHashMap::default();
    let mut new_inputs = Vec::with_capacity(old_inputs.len());
    for (input, change) in old_inputs.iter().zip(push.changes) {
        let new_input = match (input, change) {
            (input, InputChange::Keep) => *input,
            (Some(input), InputChange::Slice(spec)) => {
                let id = match sliced_inputs.get(&(*input, spec.clone())) {
                    Some(&id) => id,
                    None => {
                        let id = add_slice(graph, *input, &spec);
                        sliced_inputs.insert((*input, spec), id);
                        id
                    }
                };
                Some(id)
            }
            (_, InputChange::Constant(constant)) => Some(graph.add_constant_node(constant)),
            (None, InputChange::Slice(_)) => unreachable!("missing inputs are kept"),
        };
        new_inputs.push(new_input);
    }
    graph.add_operator(name.as_deref(), operator, &new_inputs, &[Some(kept_output)]);
}

/// Move each `Slice` with constant parameters above the operators that
/// produce its input, as far as they allow (see the module docs).
///
/// Returns the number of operators moved below a slice.
pub(super) fn push_slices_up(graph: &mut GraphMutator, diag: &Diagnostics) -> usize {
    let captured = graph.graph().subgraph_capture_value_ids();
    let mut n_pushed = 0;
    // Each push moves a slice above one operator, so this ends; the bound
    // only guards against a bug turning into a hang.
    let max_pushes = graph.graph().iter().count();
    loop {
        let slice_ops: Vec<NodeId> = graph
            .graph()
            .iter()
            .filter_map(|(id, node)| {
                let op = node.as_operator()?;
                op.operator().downcast_ref::<Slice>().map(|_| id)
            })
            .collect();
        let mut pushed = false;
        for slice_op in slice_ops {
            let Some(push) = plan_push(graph.graph(), graph.output_ids(), &captured, slice_op)
            else {
                continue;
            };
            diag.info(
                graph.graph(),
                push.source_op,
                std::format_args!("computing only the part that a Slice reads"),
            );
            apply_push(graph, push);
            n_pushed += 1;
            pushed = true;
            if n_pushed >= max_pushes {
                return n_pushed;
            }
        }
        if !pushed {
            return n_pushed;
        }
    }
}
