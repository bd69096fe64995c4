"""The thorax (SynthRAD2025 Task 1 region "Thorax"): its anatomy's ranges, its solids, its label map and its
planning structures.

Patient supine, LPS-like array axes: +x is the patient's left, +y posterior (the flat back lies on the table at
large y), z counts up from the first slice (feet -> head). The field of view runs from the lower neck just above
the lung apices down past the diaphragm's domes, so that the tops of the liver, stomach and spleen show in the
lowest slices (default: lungs 150-190 mm from apex to the right dome, 8-20 mm above, 28-45 mm below: 63-86
slices of 3 mm; 360-500 x 250-350 voxels of 1 mm in-plane, the arms cut at the edge in many cases).

Drawn (mm; the default's ranges, :class:`ThoraxAnatomy`):

* body: an axial ellipse (half-width 150-180, half-depth 100-125) with smooth perturbations and a flat back;
  skin 1.5-2.5 mm, subcutaneous fat 6-20 mm (the engine: 4-35 plus 0-45 of obesity); breasts (fat mounds with
  fibroglandular streaks, GLAND) in a third of the cases; the arms at the sides (skin, thinner fat, muscle, the
  humerus with its head at the shoulder, an armpit of fat) in half of them, raised above the head (out of the
  field) in the others.
* chest wall: muscle (SOFT) between the fat and the ribs (2-6 mm at the sides, 4-10 in front, 12-22 behind, the
  paraspinal muscles round the posterior elements), a patchy thin fat plane on the ribs, fat pads above the
  clavicles; scapulae (thin bony plates with a thicker lateral border and neck, a spine up to the acromion).
* skeleton (cortical shell, marrow inside): thoracic vertebrae every 22-26 mm (body, arch, spinous and
  transverse processes; discs of SOFT between; a CSF canal round a SOFT cord) on a kyphotic curve; twelve rib
  pairs, each an arc 7-10 x 9-13 mm round the cage's elliptic centre line (which narrows towards the top) from
  the transverse process to the front (true ribs), the costal margin (false) or the side (floating), falling
  60-100 mm on the way (the upper ribs less); sternum (manubrium, body, xiphoid); clavicles at the top. Cortical
  bone is as dark on MR as lung and air.
* lungs (LUNG) filling the rib cage above the diaphragm (the right dome 8-22 mm above the left, deep posterior
  recesses), domed apices, vessel trees (BLOOD: 3-5 branches from each hilum, forking four times, thinner and
  shorter outward), now and then small airways (GAS); trachea (GAS in a SOFT wall) splitting at the carina into
  the main and lobar bronchi.
* mediastinum (FAT) with the heart (tilted ellipsoid, 0.9-1.1 of an adult's size: SOFT myocardium, BLOOD
  chambers, septa; pericardium and its fat) on the diaphragm, left and in front; aorta (root, ascending, arch
  with its three branches, descending beside the spine into the abdomen), superior and inferior venae cavae,
  brachiocephalic veins, pulmonary trunk and arteries, pulmonary veins (all BLOOD in a SOFT wall); oesophagus
  (SOFT, sometimes a little GAS) behind the trachea.
* under the diaphragm: the liver's dome (LIVER) on the right and across the front, the stomach (SOFT wall, BOWEL
  content, GAS in front: the patient lies supine) and the spleen (SPLEEN) on the left, in abdominal FAT.
* a target: a lobulated, roughly spherical tumour (SOFT, radius 10-25 mm) in one lung.

Planning structures: "target" (the tumour's SOFT voxels), "lung_left", "lung_right" (LUNG and the lung's vessels,
less the target), "heart", "spinal_cord".

Every quantity is drawn first (:func:`draw_plan`, from ``rng`` alone, in a fixed order, no grid), then painted on
the grid, so that a seed gives bit-identical labels and ``scale`` changes the voxels only. Most solids are evaluated
in their bounding box's crop; the body outline, the rib cage (with all the ribs at once, on the voxels near its
centre line) and the lungs use the whole grid once.

The modules: ``ranges`` (:class:`ThoraxAnatomy`, its default, engine and unseen ranges), ``frame`` (the outline,
rib cage, diaphragm, lung apices and spine curve the rest is placed by; :class:`ThoraxPlan`), ``skeleton``
(vertebrae, ribs, sternum, shoulder girdle, arms), ``organs`` (mediastinum, upper abdomen, breasts, lung trees,
tumour) and ``labels`` (:func:`draw_labels`: the plan, then its painting).
"""
from tools.phantom.thorax.labels import draw_labels, draw_plan
from tools.phantom.thorax.ranges import ANATOMIES, DEFAULT_THORAX, ENGINE_THORAX, SPACING, UNSEEN_THORAX, ThoraxAnatomy

__all__ = ["ANATOMIES", "DEFAULT_THORAX", "ENGINE_THORAX", "SPACING", "UNSEEN_THORAX", "ThoraxAnatomy", "draw_labels",
           "draw_plan"]
