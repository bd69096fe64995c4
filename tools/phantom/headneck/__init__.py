"""The head and neck (SynthRAD2025 Task 1, region "Head and Neck"): its anatomy's ranges, its solids, its label map,
its planning structures and the streaks its dental fillings make on CT.

What is drawn (mm, h = height above the sternal notch, +x = patient's left, +y = posterior; ranges of the default):

* field of view: from 20-50 mm above the hard palate (maxillary sinuses, skull base, sometimes the lower orbits)
  down to 10-35 mm below the sternal notch (clavicles, lung apices), 50-80 slices of 3 mm, 220-260 x 220-250 mm
  in-plane; the shoulders flare beyond it at the bottom and are cut by it.
* outline: the head (egg-shaped, narrower in front), nose and ears, the lofted neck (notch to palate: 135-160 mm;
  lean half-width 50-57 mm) and the shoulders (trapezius rising towards the neck); skin, subcutaneous FAT
  (4-12 mm, half of it on the face), SOFT muscle below, with FAT spaces between the muscles (posterior triangle,
  parapharyngeal, submandibular, buccal, nuchal, thoracic inlet, carotid sheaths).
* skeleton (cortical shell with MARROW inside): cervical and upper thoracic vertebrae (bodies, discs between them,
  arches, pillars, transverse processes with their foramina, spinous processes; atlas ring and dens), mandible
  (U-shaped arch, rami, condyles; it rotates about the condyles when the mouth is open), maxillary alveolar arch
  and hard palate, hyoid, clavicles, manubrium, first and second ribs, scapulae, humeral heads (when the field of
  view reaches them), and at the top the skull base: clivus, occipital condyles, mastoids with air cells, petrous
  ridges, occipital bone (DIPLOE) around the cerebellum (GREY, WHITE, CSF), middle fossae with the temporal lobes,
  zygomas, pterygoid plates, bony orbits with the eyes (VITREOUS) in orbital fat.
* teeth along both arches (ENAMEL crowns, dense CORTICAL roots in the alveolar bone; each present with a drawn
  chance), dental fillings (METAL, 0-3, 1.5-3 mm) in premolars and molars, and ``ct_artefact``: the streaks they
  make on CT (radial bright/dark streaks decaying with distance, dark bands between two fillings) in the slices
  holding metal, inside the body only. MR shows only the signal void of the metal.
* spinal canal (CSF) with the cord (SOFT); airway (GAS): nostrils, nasal cavity with septum and turbinates,
  maxillary (mucosa drawn), sphenoid and ethmoid sinuses, mastoid air cells, ear canals, nasopharynx, oropharynx,
  hypopharynx, larynx (thyroid and cricoid cartilage, sometimes calcified, paraglottic fat, narrow glottis), trachea
  (lumen radius 7-9.5 mm, SOFT wall), oesophagus (sometimes a little gas); oral air above the tongue (0-3 mm, more
  when the mouth is open: 0-4 degrees).
* GLAND: parotids (superficial and deep lobe, behind the rami) and submandibular glands; thyroid (SOFT) around the
  trachea; BLOOD: common and internal carotids, external carotids, internal jugular veins (asymmetric), vertebral
  arteries in their foramina; LUNG apices in the lowest slices.
* the target: a tumour (SOFT, the volume of a sphere of radius 12-20 mm, sometimes with a necrotic CSF-like core)
  at the base of the tongue / oropharynx (narrowing the airway) or a lymph node lateral to one jugular vein.

Structures: "target", "spinal_cord", "parotid_left", "parotid_right", "larynx", "oral_cavity", "mandible".
:data:`ENGINE_HEADNECK` widens the ranges (neck length and width, fat 1.5-25 mm, teeth missing, 0-6 fillings, mouth
open up to 18 degrees, airway and gland sizes, tumour 10-25 mm, the field of view ending above the shoulders);
:data:`UNSEEN_HEADNECK` lies outside it in three ways: very thick fat, many large fillings / metal crowns, a very
large tumour.

The modules: ``ranges`` (:class:`HeadNeckAnatomy`, its default, engine and unseen ranges), ``body`` (landmarks,
outline, field of view, the canvas, skin and fat), ``jaw`` (arches, mandible and maxilla, teeth, fillings and
their CT streaks), ``soft_tissue`` (larynx, pharynx, muscles and fat spaces, vessels, glands, brain and eyes),
``skeleton`` (spine, jaws' bone, hyoid, shoulder girdle, skull base, canal), ``airways`` (mouth, pharynx, larynx,
trachea, nose, sinuses, ears) and ``labels`` (:func:`draw_labels`: the order of the draw, the target).
"""
from tools.phantom.headneck.labels import draw_labels
from tools.phantom.headneck.ranges import (
    ANATOMIES,
    DEFAULT_HEADNECK,
    ENGINE_HEADNECK,
    SPACING,
    UNSEEN_HEADNECK,
    HeadNeckAnatomy,
)

__all__ = ["ANATOMIES", "DEFAULT_HEADNECK", "ENGINE_HEADNECK", "SPACING", "UNSEEN_HEADNECK", "HeadNeckAnatomy",
           "draw_labels"]
